// The chat page: the chats from mastrogpt/index (or, in a project without one, the project's web
// actions, grouped by package), a conversation per chat (kept in the browser, see history.js),
// replies streamed from the streamer (the index's `streamer`, else this server's /web/_/{action})
// and rendered as they arrive, then their other fields: a form, options, images, and what the
// project's mastrogpt/display makes of the rest (fields.js). With a mastrogpt/login, the page
// asks to log in first and sends the token with every request (login.js). While a runtime
// environment is being built, a line above the composer says so, the chat list shows its
// progress and fills itself when it is ready. A chat opens as the platform's page opens it:
// with an empty invocation, whose answer (a welcome, a usage, a form) comes before the user types.
import * as history from "./history.js";
import * as session from "./login.js";
import { groupsOf, sample, visibleTo } from "./menu.js";
import { ReplyView } from "./render.js";
import { building, progressOf, watchRuntimes } from "./status.js";
import { DONE, ERROR, OUTPUT, RESULT, STATE, THINKING, readMessages } from "./stream.js";
import { takeAttachment, thumbnail } from "./attachments.js";
import { display, showPage } from "./display.js";
import { showReplyFields } from "./fields.js";
import { openTrace, remember } from "./trace.js";

const SUGGESTIONS = ["Who are you?", "Capital of Italy", "show me some markdown"];

const INDEX = "/api/my/mastrogpt/index";
const ACTIONS = "/_streamwhisk/actions"; // the server's own list, when there is no index
const $ = (id) => document.getElementById(id);
const chats = new Map(); // action -> {action, name, description, log, conversation}
let current = null;
let running = null; // {controller, view, opening} while a reply streams
let project = { actions: [] }; // what the server says the project has
let streamer = ""; // where replies stream from: the index's streamer, or this server

function say(log, role, text) {
  const line = document.createElement("p");
  line.className = role;
  line.textContent = text;
  log.append(line);
  return line;
}

const has = (action) => project.actions.includes(action);

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// While a runtime is built, the index cannot answer: say how the build goes, and wait for it
async function waitForRuntimes(list) {
  for (let now = await building(); now.length; now = await building()) {
    list.replaceChildren();
    for (const runtime of now) say(list, "building", `Preparing ${progressOf(runtime)}`);
    say(list, "note", "The chats appear here when it is ready.");
    await pause(1000);
  }
}

async function fetchIndex(list) {
  if (!has("mastrogpt/index")) {
    return { ...project, note: "This project has no mastrogpt/index: these are its web actions." };
  }
  for (;;) {
    await waitForRuntimes(list);
    const response = await fetch(INDEX, { method: "POST", headers: { "content-type": "application/json" },
                                          body: JSON.stringify(session.withToken({})) });
    const index = await response.json().catch(() => ({}));
    if (response.status === 503 && response.headers.has("retry-after")) {
      await pause(1000 * Math.min(10, Number(response.headers.get("retry-after")) || 1));
      continue; // still being prepared, or busy: ask again
    }
    if (!response.ok || index.error) throw new Error(index.error || `HTTP ${response.status}`);
    list.replaceChildren();
    return index;
  }
}

// The streamer the index names (the platform's stream.<host>), when it is an http(s) URL
function streamerOf(index) {
  try {
    const url = new URL(index.streamer);
    return /^https?:$/.test(url.protocol) ? url.origin : "";
  } catch {
    return "";
  }
}

async function start() {
  try {
    const response = await fetch(ACTIONS);
    if (response.ok) project = await response.json();
  } catch {
    // the chats say what went wrong
  }
  if (has("mastrogpt/login")) {
    session.guard(loadChats, () => {
      $("chat-list").replaceChildren();
      $("conversations").replaceChildren();
      chats.clear();
      current = null;
    });
  } else {
    loadChats();
  }
}

async function loadChats() {
  const list = $("chat-list");
  list.replaceChildren();
  try {
    const index = await fetchIndex(list);
    const groups = groupsOf(index.services);
    const user = session.current()?.username || "";
    $("username").textContent = user || (typeof index.username === "string" ? index.username : "");
    streamer = streamerOf(index);
    if (index.note) say(list, "note", index.note);
    for (const { title: group, entries } of groups) {
      const section = document.createElement("section");
      const title = document.createElement("h2");
      title.textContent = group;
      section.append(title);
      for (const entry of entries.filter((e) => visibleTo(e, user))) {
        section.append(chatButton({ name: String(entry.name || entry.url), action: entry.url,
                                    description: entry.description,
                                    iframe: typeof entry.iframe === "string" ? entry.iframe : "" }));
      }
      if (section.childElementCount > 1) list.append(section);
    }
    const first = list.querySelector("button");
    const listed = Array.isArray(index.services) ? index.services.length
      : Object.keys(index.services).length;
    if (first) first.click();
    else if (listed && !groups.some((g) => g.entries.length)) {
      say(list, "error", `The index lists no chat this page can read: it answered ${sample(index.services)}`);
    } else say(list, "none", "No web actions yet: add #--web true to an action in packages/.");
  } catch (error) {
    say(list, "error", `Cannot list the chats (${error.message}): is mastrogpt/index deployed?`);
  }
}


function chatButton(chat) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chat";
  button.textContent = chat.name;
  button.title = chat.description || chat.action;
  button.dataset.action = chat.action;
  button.dataset.iframe = chat.iframe || "";
  button.addEventListener("click", () => select(chat, button));
  return button;
}

function select(chat, button, conversation = null) {
  if (!chats.has(chat.action)) {
    const log = document.createElement("div");
    log.className = "log";
    log.dataset.action = chat.action;
    $("conversations").append(log);
    chats.set(chat.action, { ...chat, log, conversation: null });
  }
  current = chats.get(chat.action);
  if (current.iframe) showPage(current.iframe); // a chat with a page of its own beside it
  const wanted = conversation || current.conversation || history.currentFor(chat)
    || history.newConversation(chat);
  if (wanted !== current.conversation) open(current, wanted);
  for (const { log } of chats.values()) log.hidden = log !== current.log;
  document.querySelectorAll("button.chat").forEach((b) => b.classList.toggle("active", b === button));
  showTitle();
  $("input").focus();
}

// Show a conversation in its chat's log: its messages again, or the welcome when it is new.
function open(chat, conversation) {
  chat.conversation = conversation;
  history.makeCurrent(conversation);
  chat.log.replaceChildren();
  if (!conversation.messages.length) opening(chat);
  for (const message of conversation.messages) {
    if (message.role === "user") {
      say(chat.log, "user", message.text);
      continue;
    }
    const view = new ReplyView(chat.log);
    view.element.classList.toggle("opening", Boolean(message.opening));
    if (message.thinking) view.appendThinking(message.thinking);
    view.appendOutput(message.text || "");
    view.finish();
    // its form, options, images and other fields again, shown in the reply itself
    if (message.fields) showReplyFields(view, message.fields, { streamed: true, send, display: null });
    for (const error of message.errors || []) view.showError(error);
    view.setMeta(message.meta || "");
    traceButton(chat, view, message.activation);
  }
  listHistory();
}

// A reply's link to its trace (its activation's record), when the server named one
function traceButton(chat, view, activation) {
  if (!activation?.id || !activation?.key) return;
  remember(activation);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "trace-open";
  button.textContent = "trace";
  button.title = `The record of activation ${activation.id}`;
  button.addEventListener("click", () => openTrace(activation.id, (args, replayOf) => {
    if (chat !== current || running) return;
    chat.log.querySelector(".welcome")?.remove();
    say(chat.log, "user", `(replay of ${replayOf}) ${typeof args.input === "string" ? args.input : ""}`);
    replying(chat, session.withToken(args), { replayOf });
  }));
  view.meta.append(" · ", button);
}

// The chat's own first words: the answer to an empty invocation (as the platform's page and
// `ops ai chat` open a chat). When it has none, or fails, the page's welcome stands in.
function opening(chat) {
  if (running) return welcome(chat); // another chat is replying: do not cut it
  replying(chat, requestBody(chat.conversation, undefined, null), { opening: true });
}

function welcome(chat, trouble = "") {
  const box = document.createElement("div");
  box.className = "welcome";
  const intro = document.createElement("p");
  const about = chat.description ? `: ${chat.description.replace(/[.\s]+$/, "")}` : "";
  intro.textContent = `This is ${chat.name}${about}. Type a message below, or try one of these:`;
  box.append(intro);
  for (const text of SUGGESTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "suggestion";
    button.textContent = text;
    button.addEventListener("click", () => send(text));
    box.append(button);
  }
  if (trouble) say(box, "note", trouble);
  chat.log.append(box);
}

function showTitle() {
  if (!current) return;
  const state = current.conversation && current.conversation.state;
  const model = state && typeof state === "object" && typeof state.model === "string"
    ? state.model : "the chat's default";
  $("chat-title").textContent = current.name;
  $("chat-model").textContent = `model: ${model}`;
}

function listHistory() {
  const list = $("history");
  list.replaceChildren();
  const past = history.conversations();
  if (!past.length) say(list, "none", "None yet: they are kept in this browser.");
  for (const conversation of past) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "past";
    button.textContent = `${conversation.title || "(untitled)"} · ${conversation.chat}`;
    button.addEventListener("click", () => {
      const chatButton = document.querySelector(`button.chat[data-action="${CSS.escape(conversation.action)}"]`);
      if (chatButton) select(chatFromButton(chatButton), chatButton, conversation);
    });
    list.append(button);
  }
}

function chatFromButton(button) {
  return { name: button.textContent, action: button.dataset.action, description: button.title,
           iframe: button.dataset.iframe };
}

function setRunning(value) {
  running = value;
  $("send").hidden = Boolean(value);
  $("stop").hidden = !value;
  $("stop").disabled = !value;
}

function hint(text) {
  const line = $("hint");
  line.textContent = text;
  line.hidden = !text;
}

// True when the message went (or is going); false leaves it in the box.
async function send(text, input = text) {
  const chat = current;
  if (running?.opening) stopReply(); // the user does not wait for a welcome
  if (!text.trim() || running) return false;
  if (!chat) {
    hint("Pick a chat on the left first: the message is still in the box.");
    return false;
  }
  hint("");
  sending(chat, text, input);
  return true;
}

// What goes with a message: the text (or a form's values), the state, the token, a file
function requestBody(conversation, input, file) {
  const body = input === undefined ? {} : { input };
  if (conversation.state !== undefined) body.state = conversation.state;
  if (file) body.file = { name: file.name, type: file.type, data: file.data };
  return session.withToken(body);
}

function sayWithFile(log, text, file) {
  const line = say(log, "user", text);
  if (file) line.append(thumbnail(file));
  return line;
}

async function sending(chat, text, input = text) {
  const conversation = chat.conversation;
  const file = takeAttachment();
  chat.log.querySelector(".welcome")?.remove();
  sayWithFile(chat.log, text, file);
  conversation.messages.push({ role: "user", text });
  conversation.title ||= text.slice(0, 60);
  await replying(chat, requestBody(conversation, input, file));
}

// Until a reply's first message: if a runtime is being built, the reply says it waits for it
function waitingNote(view, signal) {
  const check = async () => {
    const now = await building();
    if (signal.aborted || view.answered) return;
    view.setMeta(now.length ? `Waiting for the runtime: ${now.map(progressOf).join("; ")}` : "");
    setTimeout(check, 1000);
  };
  setTimeout(check, 500);
}

async function replying(chat, body, { opening = false, replayOf = null } = {}) {
  const conversation = chat.conversation;
  const scroller = $("conversations");
  const follow = () => {
    if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  };
  const view = new ReplyView(chat.log, follow);
  view.element.classList.toggle("opening", opening);
  scroller.scrollTop = scroller.scrollHeight;
  const controller = new AbortController();
  setRunning({ controller, view, opening });
  waitingNote(view, controller.signal);
  const started = performance.now();
  let first = null;
  let last = null;
  let tokens = 0;
  let activation = null;
  // the turn before, and the turn replayed: for this turn's record (its trace links them)
  const about = {};
  if (conversation.lastActivation) about["x-streamwhisk-previous"] = conversation.lastActivation;
  if (replayOf) about["x-streamwhisk-replay-of"] = replayOf;
  try {
    const response = await fetch(`${streamer}/web/_/${chat.action}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson", ...about },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    view.answered = true;
    const id = response.headers.get("x-openwhisk-activation-id");
    if (id) {
      activation = { id, key: response.headers.get("x-streamwhisk-trace") };
      conversation.lastActivation = id;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.error || `the server answered ${response.status}`);
    }
    for await (const message of readMessages(response)) {
      if (typeof message[OUTPUT] === "string" && message[OUTPUT]) {
        first ??= performance.now();
        last = performance.now();
        tokens += 1;
        view.appendOutput(message[OUTPUT]);
      }
      if (typeof message[THINKING] === "string") view.appendThinking(message[THINKING]);
      if (message[STATE] !== undefined && !message[DONE]) {
        conversation.state = message[STATE];
      }
      if (message[ERROR] && !message[DONE]) view.showError(String(message[ERROR]));
      if (message[DONE]) finishWith(chat, view, message, tokens > 0);
    }
  } catch (error) {
    view.answered = true;
    if (opening && controller.signal.aborted) {
      view.element.remove(); // the user wrote first: no welcome, no trace of it
      return;
    }
    if (controller.signal.aborted) view.showError("Stopped.");
    else view.showError(`The stream was cut: ${error.message}`);
  } finally {
    view.finish();
    const elapsed = Math.round(performance.now() - started);
    const rate = first !== null && last > first ? ` · ${((tokens - 1) * 1000 / (last - first)).toFixed(1)} tokens/s` : "";
    const meta = first !== null ? `first token ${Math.round(first - started)} ms${rate}`
      : `answered in ${elapsed} ms (not streamed)`;
    view.setMeta(meta);
    traceButton(chat, view, activation);
    const said = view.text.trim() || view.fields || view.thinkingText;
    if (opening && !controller.signal.aborted && (!said || view.shownErrors.size)) {
      // nothing to show, or an error: the page's welcome, saying what the action answered
      const trouble = view.shownErrors.size
        ? `(Its answer to an empty message was an error: ${[...view.shownErrors][0]})` : "";
      view.element.remove();
      if (chat.conversation === conversation && !conversation.messages.length) welcome(chat, trouble);
    } else if (!(opening && controller.signal.aborted)) {
      conversation.messages.push({ role: "assistant", text: view.text, thinking: view.thinkingText,
                                   errors: [...view.shownErrors], meta, fields: view.fields,
                                   opening, activation });
    }
    history.save(conversation);
    listHistory();
    if (chat === current) showTitle();
    if (running && running.view === view) setRunning(null);
  }
}

function finishWith(chat, view, done, streamed) {
  if (done[ERROR]) {
    view.showError(String(done[ERROR]));
    return;
  }
  const result = done[RESULT] || {};
  const body = result.body !== undefined ? result.body : result;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    // as the platform's page: a final state replaces the state only when it has one (the
    // 2025 starter streams the chosen model and ends with "state": "")
    if (body.state) chat.conversation.state = body.state;
    showReplyFields(view, body, { streamed, send, display: has("mastrogpt/display") ? display : null });
    const { output, state, error, ...kept } = body; // what a reopened conversation shows again
    if (Object.keys(kept).length) view.fields = kept;
  } else if (!streamed && typeof body === "string") {
    view.appendOutput(body);
  }
}


$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await send($("input").value)) {
    $("input").value = "";
    setTimeout(watchRuntimes, 300); // a first message may be what waits for a runtime
  }
});
$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("new-chat").addEventListener("click", () => {
  if (!current || running) return;
  open(current, history.newConversation(current));
  showTitle();
  $("input").focus();
});
$("clear-chat").addEventListener("click", () => {
  if (!current || running) return;
  history.forget(current.conversation);
  open(current, history.newConversation(current));
  showTitle();
});
function stopReply() {
  if (running) {
    running.controller.abort();
    setRunning(null); // a new message can go at once
  }
}

$("stop").addEventListener("click", stopReply);
$("trace-close").addEventListener("click", () => $("trace").close());
setRunning(null);
start();
watchRuntimes();
