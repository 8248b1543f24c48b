// A reply's fields beyond its text, rendered from the reply itself and treated as hostile:
// text only through textContent, code through highlight.js, HTML only inside a sandboxed frame
// (no scripts, no same origin, no top navigation), images only from data: URLs or the
// addresses the page's Content-Security-Policy lets it load (this server, its object store).
import hljs from "../vendor/highlight.min.js";

// What the page itself does with a reply; any other field is the display's
const OWN_FIELDS = new Set(["output", "state", "streaming", "form", "options", "images", "error",
                                   "token"]);
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]+$/i;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function parsedOptions(value) {
  let options = value;
  if (typeof options === "string") {
    try { options = JSON.parse(options); } catch { return null; }
  }
  if (options && typeof options === "object" && !Array.isArray(options)) options = options.options;
  if (!Array.isArray(options)) return null;
  const kept = options.filter((o) => typeof o === "string" || typeof o === "number").map(String);
  return kept.length ? kept : null;
}

// `options` as a list, a JSON string of one, or {"options": [...]} as the starter's demo sends
// it (in `options`, or as the whole `output`)
function optionsOf(body) {
  const own = parsedOptions(body.options);
  if (own) return { options: own, fromOutput: false };
  if (typeof body.output === "string" && body.output.trim().startsWith("{")) {
    const inOutput = parsedOptions(body.output);
    if (inOutput) return { options: inOutput, fromOutput: true };
  }
  return null;
}

// `images`: a list or a comma-separated string; URLs and data: URLs are shown here, anything
// else (an object store key) is the display's to resolve
function imagesOf(value) {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  const urls = [];
  const keys = [];
  for (const item of items.map((i) => String(i).trim()).filter(Boolean)) {
    (DATA_IMAGE.test(item) || /^https?:\/\//i.test(item) ? urls : keys).push(item);
  }
  return { urls, keys };
}

function showImages(container, urls) {
  const box = element("div", "images");
  for (const url of urls) {
    const image = element("img", "reply-image");
    image.alt = "image from the reply";
    image.referrerPolicy = "no-referrer";
    image.src = url;
    box.append(image);
  }
  container.append(box);
}

function showOptions(container, options, pick) {
  const box = element("div", "options");
  for (const option of options) {
    const button = element("button", "option", option);
    button.type = "button";
    button.addEventListener("click", () => pick(option));
    box.append(button);
  }
  container.append(box);
}

// A frame for HTML from a reply or a display: sandboxed with no permission at all
export function sandboxedFrame(html, className = "frame") {
  const frame = element("iframe", className);
  frame.setAttribute("sandbox", "");
  frame.referrerPolicy = "no-referrer";
  frame.srcdoc = html;
  return frame;
}

export async function fileAsBase64(file) {
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  return { url, data: String(url).slice(String(url).indexOf(",") + 1) };
}

function input(field, id) {
  const type = String(field.type || "text").toLowerCase();
  const required = field.required === true || String(field.required).toLowerCase() === "true";
  const options = (Array.isArray(field.options) ? field.options : []).map((o) => (
    o && typeof o === "object" ? { value: String(o.value ?? o.label), label: String(o.label ?? o.value) }
      : { value: String(o), label: String(o) }));
  if (type === "textarea") return Object.assign(element("textarea"), { id, name: field.name, required });
  if (type === "select") {
    const select = Object.assign(element("select"), { id, name: field.name, required });
    for (const o of options) select.append(Object.assign(element("option", "", o.label), { value: o.value }));
    return select;
  }
  if (type === "radio") {
    const group = element("div", "radio-group");
    group.id = id;
    options.forEach((o, i) => {
      const label = element("label");
      const radio = Object.assign(element("input"), { type: "radio", name: field.name, value: o.value,
                                                      required: required && i === 0 });
      label.append(radio, ` ${o.label}`);
      group.append(label);
    });
    return group;
  }
  const allowed = ["text", "number", "date", "checkbox", "file", "email", "password"];
  return Object.assign(element("input"), { id, name: field.name, required,
                                           type: allowed.includes(type) ? type : "text" });
}

// A form from the reply's `form`; its values go to `submit` as the platform's page sends them:
// checkboxes as booleans, numbers as numbers, a file as its base64 (its name and type beside,
// in `files`)
function showForm(container, fields, submit) {
  const form = element("form", "reply-form");
  const prefix = `f${Math.random().toString(36).slice(2, 8)}`;
  for (const field of fields.filter((f) => f && typeof f.name === "string")) {
    const row = element("div", "form-row");
    const id = `${prefix}-${field.name}`;
    const label = element("label", "", String(field.label || field.name));
    label.htmlFor = id;
    row.append(label, input(field, id));
    form.append(row);
  }
  const send = element("button", "form-submit", "Submit");
  send.type = "submit";
  form.append(send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    const files = {};
    for (const field of fields.filter((f) => f && typeof f.name === "string")) {
      const type = String(field.type || "text").toLowerCase();
      const controls = [...form.elements].filter((e) => e.name === field.name);
      if (type === "checkbox") values[field.name] = controls[0].checked;
      else if (type === "radio") values[field.name] = controls.find((c) => c.checked)?.value ?? "";
      else if (type === "number") values[field.name] = controls[0].value === "" ? "" : Number(controls[0].value);
      else if (type === "file") {
        const file = controls[0].files[0];
        values[field.name] = file ? (await fileAsBase64(file)).data : "";
        if (file) files[field.name] = { name: file.name, type: file.type, size: file.size };
      } else values[field.name] = controls[0].value;
    }
    [...form.elements].forEach((e) => { e.disabled = true; });
    submit(values, files);
  });
  container.append(form);
}

// Without a display action: code highlighted, html in a sandboxed frame, a message as a card;
// what the page cannot show is listed as JSON, never dropped
function showFallback(container, fields) {
  const rest = { ...fields };
  if (typeof rest.code === "string") {
    const pre = element("pre", "field-code");
    const code = element("code", rest.language ? `language-${rest.language}` : "", rest.code);
    pre.append(code);
    if (rest.language) {
      try { hljs.highlightElement(code); } catch { /* an unknown language stays plain */ }
    }
    container.append(pre);
    delete rest.code;
    delete rest.language;
  }
  if (typeof rest.html === "string") {
    container.append(sandboxedFrame(rest.html, "frame field-html"));
    delete rest.html;
  }
  if (typeof rest.message === "string") {
    const card = element("div", "card");
    card.append(element("strong", "", String(rest.title || "Message")), element("p", "", rest.message));
    container.append(card);
    delete rest.message;
    delete rest.title;
  }
  return rest;
}

// A finished reply's fields after its text (appended here unless it streamed): a form, options,
// images, and the rest through `display` (the project's display action) or, without one, as
// the page can show them. `send(text, input)` sends a form's values or an option.
export function showReplyFields(view, body, { streamed, send, display }) {
  const options = optionsOf(body);
  if (!streamed && typeof body.output === "string" && !options?.fromOutput) view.appendOutput(body.output);
  if (body.error) view.showError(String(body.error));
  if (Array.isArray(body.form)) {
    showForm(view.extras, body.form, (values, files) => {
      const summary = Object.entries(values).map(([k, v]) => `${k}: ${k in files ? files[k].name : v}`);
      send(`Form: ${summary.join(", ")}`, Object.keys(files).length ? { form: values, files } : { form: values });
    });
  }
  if (options) showOptions(view.extras, options.options, (option) => send(option));
  const images = imagesOf(body.images);
  if (images.urls.length) showImages(view.extras, images.urls);
  const rest = Object.fromEntries(Object.entries(body).filter(([key]) => !OWN_FIELDS.has(key)));
  if (images.keys.length) rest.images = images.keys.join(",");
  if (!Object.keys(rest).length) return;
  if (display) {
    display(rest).catch((error) => view.showError(`Cannot display the reply: ${error.message}`));
  } else {
    const left = showFallback(view.extras, rest);
    if (Object.keys(left).length) view.showFields(left);
  }
}
