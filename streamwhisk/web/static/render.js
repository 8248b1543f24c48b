// Renders one streamed reply: Markdown through marked, HTML through DOMPurify.
//
// Rendering keeps up with long replies: finished blocks (up to a blank line outside code
// fences and reasoning) are parsed once and kept; only the unfinished tail is parsed again,
// at most once per animation frame, however fast the tokens come.
import { marked } from "/vendor/marked.esm.js";
import DOMPurify from "/vendor/purify.es.mjs";

const THINK_OPEN = "[think]";
const THINK_CLOSE = "[/think]";
const FENCE = /^\s{0,3}(```|~~~)/;
const PURIFY = { FORBID_TAGS: ["style", "form"], FORBID_ATTR: ["style"] };

export function markdownToSafeHtml(text) {
  return DOMPurify.sanitize(marked.parse(text, { gfm: true }), PURIFY);
}

function reasoningBlock(markdown, open) {
  const details = document.createElement("details");
  details.className = "reasoning";
  details.open = open;
  const summary = document.createElement("summary");
  summary.textContent = "Reasoning";
  const body = document.createElement("div");
  body.innerHTML = markdownToSafeHtml(markdown);
  details.append(summary, body);
  return details;
}

// Markdown with [think]...[/think] spans as collapsed reasoning blocks.
export function renderSegments(text) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const open = rest.indexOf(THINK_OPEN);
    if (open < 0) {
      fragment.append(htmlBlock(rest));
      break;
    }
    if (open > 0) fragment.append(htmlBlock(rest.slice(0, open)));
    const after = rest.slice(open + THINK_OPEN.length);
    const close = after.indexOf(THINK_CLOSE);
    fragment.append(reasoningBlock(close < 0 ? after : after.slice(0, close), false));
    rest = close < 0 ? "" : after.slice(close + THINK_CLOSE.length);
  }
  return fragment;
}

function htmlBlock(markdown) {
  const block = document.createElement("div");
  block.className = "md";
  block.innerHTML = markdownToSafeHtml(markdown);
  return block;
}

// Where the text can be cut so that what comes before never changes its rendering.
class BlockBoundaries {
  constructor() {
    this.scanned = 0;
    this.inFence = false;
    this.inThink = false;
    this.stable = 0;
  }

  advance(text) {
    let lineEnd;
    while ((lineEnd = text.indexOf("\n", this.scanned)) >= 0) {
      const line = text.slice(this.scanned, lineEnd);
      this.scanned = lineEnd + 1;
      if (!this.inThink && FENCE.test(line)) this.inFence = !this.inFence;
      if (!this.inFence) {
        const opened = line.lastIndexOf(THINK_OPEN);
        const closed = line.lastIndexOf(THINK_CLOSE);
        if (opened >= 0 || closed >= 0) this.inThink = opened > closed;
      }
      if (!line.trim() && !this.inFence && !this.inThink) this.stable = this.scanned;
    }
    return this.stable;
  }
}

export class ReplyView {
  // `onRender` runs after each render (the page keeps the newest text in view with it)
  constructor(container, onRender = () => {}) {
    this.onRender = onRender;
    this.element = document.createElement("article");
    this.element.className = "reply";
    this.thinking = null; // reasoning sent as `thinking` messages, made on the first one
    this.thinkingText = "";
    this.committed = document.createElement("div");
    this.tail = document.createElement("div");
    this.errors = document.createElement("div");
    this.errors.className = "errors";
    this.meta = document.createElement("footer");
    this.meta.className = "meta";
    this.element.append(this.committed, this.tail, this.errors, this.meta);
    container.append(this.element);
    this.text = "";
    this.renderedUpTo = 0;
    this.boundaries = new BlockBoundaries();
    this.frame = 0;
    this.shownErrors = new Set();
  }

  appendOutput(delta) {
    this.text += delta;
    this.schedule();
  }

  appendThinking(delta) {
    this.thinkingText += delta;
    if (!this.thinking) {
      this.thinking = reasoningBlock("", false);
      this.element.prepend(this.thinking);
    }
    this.schedule();
  }

  showError(message) {
    if (this.shownErrors.has(message)) return;
    this.shownErrors.add(message);
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = message;
    this.errors.append(line);
  }

  // Fields of a reply the page has no renderer for yet: shown as JSON text, never dropped
  showFields(fields) {
    const box = document.createElement("details");
    box.className = "fields";
    box.open = true;
    const summary = document.createElement("summary");
    summary.textContent = `other fields: ${Object.keys(fields).join(", ")}`;
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(fields, null, 2);
    box.append(summary, pre);
    this.element.insertBefore(box, this.errors);
  }

  setMeta(text) {
    this.meta.textContent = text;
  }

  // Render everything now: the reply is over.
  finish() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.render(true);
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render(false);
    });
  }

  render(final) {
    const stable = final ? this.text.length : this.boundaries.advance(this.text);
    if (stable > this.renderedUpTo) {
      this.committed.append(renderSegments(this.text.slice(this.renderedUpTo, stable)));
      this.renderedUpTo = stable;
    }
    // the tail is rebuilt: keep any reasoning block the reader opened open
    const opened = [...this.tail.querySelectorAll("details")].map((d) => d.open);
    this.tail.replaceChildren(renderSegments(this.text.slice(this.renderedUpTo)));
    this.tail.querySelectorAll("details").forEach((d, i) => { d.open ||= opened[i] ?? false; });
    if (this.thinking) this.thinking.lastChild.textContent = this.thinkingText;
    this.onRender();
  }
}
