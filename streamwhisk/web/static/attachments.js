// A file or an image attached to the next message: read as base64, shown as a thumbnail above
// the composer (and in the conversation once sent), taken by the message that sends it.
import { fileAsBase64 } from "./fields.js";

const $ = (id) => document.getElementById(id);
let attached = null; // {name, type, data, url}

export function thumbnail(file) {
  if (file.type.startsWith("image/")) {
    const image = document.createElement("img");
    image.className = "thumbnail";
    image.alt = file.name;
    image.src = file.url;
    return image;
  }
  const chip = document.createElement("span");
  chip.className = "file-chip";
  chip.textContent = `📎 ${file.name}`;
  return chip;
}

// The attached file, if any; the composer is left with none
export function takeAttachment() {
  const file = attached;
  attached = null;
  $("attachment").replaceChildren();
  $("attachment").hidden = true;
  return file;
}

$("attach").addEventListener("click", () => $("attach-file").click());
$("attach-file").addEventListener("change", async () => {
  const file = $("attach-file").files[0];
  $("attach-file").value = "";
  if (!file) return;
  attached = { name: file.name, type: file.type || "application/octet-stream", ...(await fileAsBase64(file)) };
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove-attachment";
  remove.textContent = "×";
  remove.title = "Do not send this file";
  remove.addEventListener("click", takeAttachment);
  $("attachment").replaceChildren(thumbnail(attached), remove);
  $("attachment").hidden = false;
});
