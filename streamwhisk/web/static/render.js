// Renders one streamed reply: Markdown through marked, HTML through DOMPurify.
//
// Rendering keeps up with long replies: finished blocks (up to a blank line outside code
// fences and reasoning) are parsed once and kept; only the unfinished tail is parsed again,
// at most once per animation frame, however fast the tokens come.
import { marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.mjs";
import hljs from "../vendor/highlight.min.js";

const THINK_OPEN = "[think]";
const THINK_CLOSE = "[/think]";
const FENCE = /^\s{0,3}(```|~~~)/;
// Model output is hostile: only what Markdown makes is kept, and nothing in it may make the
// browser fetch by itself. No media, frames, forms, styles or SVG; an image shows only from a
// data: URL, in a finished block; any other image becomes a link the reader may click.
const PURIFY = {
  ALLOWED_TAGS: ["a", "b", "blockquote", "br", "code", "del", "details", "div", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr",
    "ul"],
  ALLOWED_ATTR: ["alt", "align", "checked", "class", "colspan", "disabled", "href", "lang",
    "rowspan", "src", "start", "title", "type"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|data:image\/(?:png|gif|jpeg|webp);base64,|#|\/|\.)/i,
};
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|webp);base64,/i;
let imagesShown = true; // false while rendering an unfinished tail

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  } else if (node.tagName === "IMG") {
    const src = node.getAttribute("src") || "";
    if (!imagesShown || !DATA_IMAGE.test(src)) {
      node.replaceWith(imagePlaceholder(src, node.getAttribute("alt") || "", imagesShown));
    }
  } else if (node.tagName === "INPUT") {
    if (node.getAttribute("type") !== "checkbox") node.remove();
    else node.setAttribute("disabled", "");
  }
});

function imagePlaceholder(src, alt, finished) {
  const label = `[image${alt ? `: ${alt}` : ""}]`;
  if (!finished || DATA_IMAGE.test(src) || !/^https?:/i.test(src)) {
    const span = document.createElement("span");
    span.className = "image-placeholder";
    span.textContent = label;
    return span;
  }
  const link = document.createElement("a"); // fetched only if the reader clicks it
  link.className = "image-link";
  link.href = src;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = label;
  return link;
}

export function markdownToSafeHtml(text, finished = true) {
  imagesShown = finished;
  try {
    // `breaks`: a line break in a reply is one (plain-text replies, countdowns, poems)
    return DOMPurify.sanitize(marked.parse(text, { gfm: true, breaks: true }), PURIFY);
  } finally {
    imagesShown = true;
  }
}

function reasoningBlock(markdown, open, finished = true) {
  const details = document.createElement("details");
  details.className = "reasoning";
  details.open = open;
  const summary = document.createElement("summary");
  summary.textContent = "Reasoning";
  const body = document.createElement("div");
  body.innerHTML = markdownToSafeHtml(markdown, finished);
  details.append(summary, body);
  return details;
}

// Markdown with [think]...[/think] spans as collapsed reasoning blocks; an unfinished tail
// shows no images yet (it is rebuilt every frame: an image in it would be made again and again)
export function renderSegments(text, finished = true) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const open = rest.indexOf(THINK_OPEN);
    if (open < 0) {
      fragment.append(htmlBlock(rest, finished));
      break;
    }
    if (open > 0) fragment.append(htmlBlock(rest.slice(0, open), finished));
    const after = rest.slice(open + THINK_OPEN.length);
    const close = after.indexOf(THINK_CLOSE);
    fragment.append(reasoningBlock(close < 0 ? after : after.slice(0, close), false, finished));
    rest = close < 0 ? "" : after.slice(close + THINK_CLOSE.length);
  }
  return fragment;
}

function htmlBlock(markdown, finished) {
  const block = document.createElement("div");
  block.className = "md";
  block.innerHTML = markdownToSafeHtml(markdown, finished);
  return block;
}

// A finished code block is highlighted (by highlight.js, which escapes what it wraps) in the
// language its fence names; an unnamed one stays plain (guessing tries every language).
function highlight(code) {
  if (![...code.classList].some((name) => name.startsWith("language-"))) return;
  try {
    hljs.highlightElement(code);
  } catch {
    // an unknown language: the block stays plain
  }
}

// A finished code block gets a button that copies its text.
function addCopyButton(pre) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.addEventListener("click", async () => {
    const code = pre.querySelector("code") || pre;
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  pre.append(button);
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
    this.extras = document.createElement("div"); // a form, options, images (fields.js)
    this.extras.className = "extras";
    this.errors = document.createElement("div");
    this.errors.className = "errors";
    this.meta = document.createElement("footer");
    this.meta.className = "meta";
    this.element.append(this.committed, this.tail, this.extras, this.errors, this.meta);
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
      const finished = renderSegments(this.text.slice(this.renderedUpTo, stable));
      finished.querySelectorAll("pre code").forEach(highlight);
      finished.querySelectorAll("pre").forEach(addCopyButton);
      this.committed.append(finished);
      this.renderedUpTo = stable;
    }
    // the tail is rebuilt: keep any reasoning block the reader opened open
    const opened = [...this.tail.querySelectorAll("details")].map((d) => d.open);
    this.tail.replaceChildren(renderSegments(this.text.slice(this.renderedUpTo), final));
    this.tail.querySelectorAll("details").forEach((d, i) => { d.open ||= opened[i] ?? false; });
    if (this.thinking) this.thinking.lastChild.textContent = this.thinkingText;
    this.onRender();
  }
}
