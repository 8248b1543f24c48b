// A chat turn's trace: its activation's record, opened with the key its answer carried
// (`x-streamwhisk-trace`): what the turn was given (input, state), each streamed message with
// its time, the final fields and the state it left, the logs (an error's traceback among
// them), cold or warm, time to first message, messages per second; a link to the turn before;
// and a replay that can change what is sent first. Every value is shown as text, never as HTML.

const TRACES = "/_streamwhisk/activations/";
const keys = new Map(); // activation id -> its key, for the links between turns

export function remember(activation) {
  if (activation?.id && activation?.key) keys.set(activation.id, activation.key);
}

// The record, once written (the server writes it just after the turn ends)
async function fetchRecord(id) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const response = await fetch(`${TRACES}${id}?key=${encodeURIComponent(keys.get(id) || "")}`);
    if (response.ok) return response.json();
    if (response.status !== 404) throw new Error(`the server answered ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error("this turn's record is not there (it may have been pruned, or the page has no key for it)");
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function section(title, ...content) {
  const box = el("section", undefined, "trace-part");
  box.append(el("h3", title), ...content);
  return box;
}

const json = (value) => el("pre", JSON.stringify(value, null, 2));
const notesOf = (record) => Object.fromEntries((record.annotations || []).map((a) => [a.key, a.value]));
const given = (args) => Object.fromEntries(Object.entries(args || {}).filter(([key]) => !key.startsWith("__ow_")));

function facts(record, notes) {
  const stream = notes.stream;
  const messages = record.trace?.stream || [];
  const outputs = messages.filter((m) => typeof m.message?.output === "string" && m.message.output);
  const span = outputs.length > 1 ? outputs[outputs.length - 1].at - outputs[0].at : 0;
  const rate = span > 0 ? `${((outputs.length - 1) * 1000 / span).toFixed(1)} messages/s` : null;
  return [
    `${notes.path} · ${record.response.status}`,
    notes.initTime !== undefined ? `cold (init ${notes.initTime} ms)` : "warm",
    `waited ${notes.waitTime ?? 0} ms, ran ${record.duration} ms`,
    stream ? `${stream.messages} streamed, first after ${stream.firstMessageMs ?? "-"} ms` : "not streamed",
    rate,
  ].filter(Boolean).join(" · ");
}

// Show the trace of activation `id` in the page's trace dialog; `replay(args, id)` runs it again
export async function openTrace(id, replay) {
  const dialog = document.getElementById("trace");
  const body = document.getElementById("trace-body");
  body.replaceChildren(el("p", "Loading the record…"));
  if (!dialog.open) dialog.showModal();
  let record;
  try {
    record = await fetchRecord(id);
  } catch (error) {
    body.replaceChildren(el("p", `No trace: ${error.message}`, "error"));
    return;
  }
  const notes = notesOf(record);
  const args = given(record.trace?.args);
  const result = record.response.result || {};
  const lastState = [...(record.trace?.stream || [])].reverse().find((m) => m.message?.state !== undefined);
  const stateOut = result.state ?? result.body?.state ?? lastState?.message.state;
  const parts = [el("p", facts(record, notes), "trace-facts"),
                 el("p", `activation ${record.activationId}`, "trace-id")];
  if (notes.previous) {
    const link = el("button", "← the turn before", "trace-link");
    link.type = "button";
    link.disabled = !keys.has(notes.previous);
    link.addEventListener("click", () => openTrace(notes.previous, replay));
    parts.push(link);
  }
  if (notes.replayOf) parts.push(el("p", `a replay of ${notes.replayOf}`, "trace-id"));
  parts.push(section("Given: input and state", json({ input: args.input, state: args.state })));
  const streamed = el("ol", undefined, "trace-stream");
  for (const { at, message } of record.trace?.stream || []) {
    const item = el("li");
    item.append(el("span", `+${at} ms `, "trace-time"), el("code", JSON.stringify(message)));
    streamed.append(item);
  }
  if (record.trace?.streamTruncated) streamed.append(el("li", "… (the rest is counted, not kept)"));
  if (record.trace?.stream) parts.push(section("Streamed", streamed));
  parts.push(section(record.response.success ? "Answered" : "Answered an error", json(result)));
  parts.push(section("State out", json(stateOut ?? null)));
  parts.push(section("Logs", el("pre", (record.logs || []).join("\n") || "(nothing printed)", "trace-logs")));
  const edit = el("textarea", JSON.stringify(args, null, 2), "trace-edit");
  edit.setAttribute("aria-label", "The arguments to send again");
  const again = el("button", "Replay", "trace-replay");
  again.type = "button";
  const problem = el("p", "", "error");
  again.addEventListener("click", () => {
    let changed;
    try {
      changed = JSON.parse(edit.value);
    } catch (error) {
      problem.textContent = `Not JSON: ${error.message}`;
      return;
    }
    dialog.close();
    replay(changed, record.activationId);
  });
  parts.push(section("Replay (change the input, the state or a model first)", edit, again, problem));
  body.replaceChildren(...parts);
}
