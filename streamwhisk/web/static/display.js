// The display panel, beside the chat or below it (the reader switches): the HTML the project's
// mastrogpt/display makes of a reply's fields, in a sandboxed frame; or a page of the
// project's site that a chat's index entry names.
import { sandboxedFrame } from "./fields.js";
import { withToken } from "./login.js";

const DISPLAY = "/api/my/mastrogpt/display";
const $ = (id) => document.getElementById(id);

export async function display(fields) {
  const response = await fetch(DISPLAY, { method: "POST", headers: { "content-type": "application/json" },
                                          body: JSON.stringify(withToken(fields)) });
  const html = await response.text();
  if (!response.ok) throw new Error(`the display answered ${response.status}`);
  if (!html.trim()) return;
  $("display-content").replaceChildren(sandboxedFrame(html, "frame display-frame"));
  $("display").hidden = false;
}

// A page of the project's own site beside a chat, as an index entry's `iframe` names it (a
// path on this server: its own pages, trusted as the site is; any other address is refused)
export function showPage(path) {
  const url = new URL(path, window.location.origin);
  if (url.origin !== window.location.origin) {
    const refused = document.createElement("p");
    refused.className = "error";
    refused.textContent = `Not shown: ${path} is not a page of this server.`;
    $("display-content").replaceChildren(refused);
  } else {
    const frame = document.createElement("iframe");
    frame.className = "frame display-frame";
    frame.referrerPolicy = "no-referrer";
    frame.src = url.href;
    $("display-content").replaceChildren(frame);
  }
  $("display").hidden = false;
}

$("display-place").addEventListener("click", () => {
  const below = document.body.classList.toggle("display-below");
  $("display-place").textContent = below ? "Show beside" : "Show below";
});
$("display-close").addEventListener("click", () => { $("display").hidden = true; });
