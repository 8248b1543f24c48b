// The runtimes the server is building: a line above the composer, shown until they are ready,
// a failure until it is retried.
const STATUS = "/_streamwhisk/status";

function say(box, role, text) {
  const line = document.createElement("p");
  line.className = role;
  line.textContent = text;
  box.append(line);
}

export async function watchRuntimes() {
  const line = document.getElementById("preparing");
  try {
    const response = await fetch(STATUS);
    const { runtimes = [] } = await response.json();
    const latest = new Map(runtimes.map((runtime) => [runtime.what, runtime]));
    const building = [...latest.values()].filter((r) => r.state === "building");
    const failed = [...latest.values()].filter((r) => r.state === "failed");
    line.replaceChildren();
    for (const runtime of building) {
      say(line, "building", `Preparing ${runtime.what} (${runtime.seconds} s): ${runtime.step}`);
    }
    for (const runtime of failed) say(line, "error", `Could not prepare ${runtime.what}: ${runtime.error}`);
    line.hidden = !line.childElementCount;
    if (building.length) setTimeout(watchRuntimes, 1000);
  } catch {
    line.hidden = true;
  }
}
