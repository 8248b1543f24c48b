// The project's mastrogpt/display: a reply's fields posted to it, the HTML it answers shown in
// the display panel in a sandboxed frame, beside the chat or below it (the reader switches).
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

$("display-place").addEventListener("click", () => {
  const below = document.body.classList.toggle("display-below");
  $("display-place").textContent = below ? "Show beside" : "Show below";
});
$("display-close").addEventListener("click", () => { $("display").hidden = true; });
