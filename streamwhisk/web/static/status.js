// The runtimes the server is building: a line above the composer, shown until they are ready,
// a failure until it is retried. `building()` tells the chat list and a reply what they wait for.
const STATUS = "/_streamwhisk/status";

function say(box, role, text) {
  const line = document.createElement("p");
  line.className = role;
  line.textContent = text;
  box.append(line);
}

async function latestRuntimes() {
  const response = await fetch(STATUS);
  const { runtimes = [] } = await response.json();
  return [...new Map(runtimes.map((runtime) => [runtime.what, runtime])).values()];
}

export const progressOf = (runtime) => `${runtime.what} (${runtime.seconds} s): ${runtime.step}`;

// The runtimes being built now ([] when none, or when the server cannot say)
export async function building() {
  try {
    return (await latestRuntimes()).filter((r) => r.state === "building");
  } catch {
    return [];
  }
}

export async function watchRuntimes() {
  const line = document.getElementById("preparing");
  try {
    const latest = await latestRuntimes();
    const now = latest.filter((r) => r.state === "building");
    const failed = latest.filter((r) => r.state === "failed");
    line.replaceChildren();
    for (const runtime of now) say(line, "building", `Preparing ${progressOf(runtime)}`);
    for (const runtime of failed) say(line, "error", `Could not prepare ${runtime.what}: ${runtime.error}`);
    line.hidden = !line.childElementCount;
    if (now.length) setTimeout(watchRuntimes, 1000);
  } catch {
    line.hidden = true;
  }
}
