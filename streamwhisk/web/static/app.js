// The chat page: the chats from mastrogpt/index, one conversation per chat, replies streamed
// from the streamer (/web/_/{action}) and rendered as they arrive. The index is the platform's
// (the Pinocchio page's) format: {"username", "services": {"Group": [{"name", "url"}]}}.
import { ReplyView } from "/static/render.js";
import { readMessages } from "/static/stream.js";

const INDEX = "/api/my/mastrogpt/index";
// what the page renders of a reply's body; any other field is shown as JSON
const RENDERED = new Set(["output", "state", "error", "streaming"]);
const $ = (id) => document.getElementById(id);
const chats = new Map(); // action -> {action, name, state, log}
let current = null;
let running = null; // {controller, view} while a reply streams

function say(log, role, text) {
  const line = document.createElement("p");
  line.className = role;
  line.textContent = text;
  log.append(line);
  return line;
}

async function loadChats() {
  const list = $("chat-list");
  try {
    const response = await fetch(INDEX);
    const index = await response.json();
    if (!response.ok || index.error) throw new Error(index.error || `HTTP ${response.status}`);
    const services = index.services;
    if (!services || typeof services !== "object") throw new Error("the index has no services");
    $("username").textContent = typeof index.username === "string" ? index.username : "";
    for (const [group, entries] of Object.entries(services)) {
      const section = document.createElement("section");
      const title = document.createElement("h2");
      title.textContent = group;
      section.append(title);
      for (const entry of Array.isArray(entries) ? entries : []) {
        if (entry && typeof entry.url === "string") {
          section.append(chatButton({ name: String(entry.name || entry.url), action: entry.url,
                                      description: entry.description }));
        }
      }
      list.append(section);
    }
    const first = list.querySelector("button");
    if (first) first.click();
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
  button.addEventListener("click", () => select(chat, button));
  return button;
}

function select(chat, button) {
  if (!chats.has(chat.action)) {
    const log = document.createElement("div");
    log.className = "log";
    log.dataset.action = chat.action;
    $("conversations").append(log);
    chats.set(chat.action, { ...chat, state: undefined, log });
  }
  current = chats.get(chat.action);
  for (const { log } of chats.values()) log.hidden = log !== current.log;
  document.querySelectorAll("button.chat").forEach((b) => b.classList.toggle("active", b === button));
  $("chat-title").textContent = chat.description ? `${chat.name}: ${chat.description}` : chat.name;
  $("input").focus();
}

function setRunning(value) {
  running = value;
  $("send").disabled = Boolean(value);
  $("stop").disabled = !value;
}

async function send(text) {
  const chat = current;
  if (!chat || running || !text.trim()) return;
  say(chat.log, "user", text);
  const scroller = $("conversations");
  const follow = () => {
    if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120) {
      scroller.scrollTop = scroller.scrollHeight;
    }
  };
  const view = new ReplyView(chat.log, follow);
  scroller.scrollTop = scroller.scrollHeight;
  const controller = new AbortController();
  setRunning({ controller, view });
  const started = performance.now();
  let first = null;
  let last = null;
  let tokens = 0;
  try {
    const response = await fetch(`/web/_/${chat.action}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify(chat.state === undefined ? { input: text } : { input: text, state: chat.state }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.error || `the server answered ${response.status}`);
    }
    for await (const message of readMessages(response)) {
      if (typeof message.output === "string" && message.output) {
        first ??= performance.now();
        last = performance.now();
        tokens += 1;
        view.appendOutput(message.output);
      }
      if (typeof message.thinking === "string") view.appendThinking(message.thinking);
      if (message.error && !message.done) view.showError(String(message.error));
      if (message.done) finishWith(chat, view, message, tokens > 0);
    }
  } catch (error) {
    if (controller.signal.aborted) view.showError("Stopped.");
    else view.showError(`The stream was cut: ${error.message}`);
  } finally {
    view.finish();
    const ttft = first === null ? "no output" : `first token ${Math.round(first - started)} ms`;
    const rate = first !== null && last > first ? ` · ${((tokens - 1) * 1000 / (last - first)).toFixed(1)} tokens/s` : "";
    view.setMeta(ttft + rate);
    if (running && running.view === view) setRunning(null);
  }
}

function finishWith(chat, view, done, streamed) {
  if (done.error) {
    view.showError(String(done.error));
    return;
  }
  const result = done.result || {};
  const body = result.body !== undefined ? result.body : result;
  if (body && typeof body === "object") {
    if (body.state !== undefined) chat.state = body.state;
    if (!streamed && typeof body.output === "string") view.appendOutput(body.output);
    if (body.error) view.showError(String(body.error));
    const others = Object.entries(body).filter(([key]) => !RENDERED.has(key));
    if (others.length) view.showFields(Object.fromEntries(others));
  } else if (!streamed && typeof body === "string") {
    view.appendOutput(body);
  }
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("input").value;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("stop").addEventListener("click", () => {
  if (running) {
    running.controller.abort();
    setRunning(null); // a new message can go at once
  }
});
loadChats();
