"""From Enter to the first streamed token painted in the chat page, in Chromium: the same chat
streamed from the platform's stream.localhost (a cross-origin request, with CORS) and from the
page's own origin (/web).

    make bench   (or: .venv/bin/python benchmarks/page_first_token.py [--rounds 40])

Two `streamwhisk up` of one project: in one, mastrogpt/index names the streamer as the
platform's page computes it (stream.<host>); the other has no index, so the page streams from
/web on its own origin. The rounds alternate between the two, so that the machine's noise
falls on both alike. The time is taken in the page: from the Enter key to the frame after the
first token's text is in the reply.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))
from _stats import percentile, table

from streamwhisk.testing import serve

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ACTION = '''#--web true
import json, socket

def main(args):
    with socket.create_connection((args["STREAM_HOST"], int(args["STREAM_PORT"]))) as out:
        for word in ("first ", "second ", "third"):
            out.sendall(json.dumps({"output": word}).encode() + b"\\n")
    return {"body": {"output": "first second third", "streaming": True}}
'''
INDEX = '''#--web true
#--param OPSDEV_APIHOST $OPSDEV_APIHOST
def main(args):
    scheme, _, host = args["OPSDEV_APIHOST"].partition("://")
    return {"body": {"services": [{"Bench": [{"name": "First", "url": "bench/first"}]}],
                     "streamer": f"{scheme}://stream.{host}"}}
'''
# resolves with the milliseconds from Enter to the frame that paints the first token
MEASURE = """async () => {
  const log = document.querySelector('.log:not([hidden])');
  const before = log.querySelectorAll('.reply').length;
  const input = document.getElementById('input');
  input.value = 'go';
  const painted = new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      const reply = log.querySelectorAll('.reply')[before];
      if (reply && reply.textContent.includes('first')) {
        watch.disconnect();
        requestAnimationFrame(() => resolve(performance.now()));
      }
    });
    watch.observe(log, { subtree: true, childList: true, characterData: true });
  });
  const started = performance.now();
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  const at = await painted;
  await new Promise((resolve) => {
    const done = () => log.querySelectorAll('.reply')[before]?.querySelector('.meta')?.textContent;
    const wait = () => (done() ? resolve() : setTimeout(wait, 5));
    wait();
  });
  return at - started;
}"""


def project(root: Path, with_index: bool) -> Path:
    (root / "packages" / "bench").mkdir(parents=True)
    (root / "packages" / "bench" / "first.py").write_text(ACTION)
    if with_index:
        (root / "packages" / "mastrogpt").mkdir()
        (root / "packages" / "mastrogpt" / "index.py").write_text(INDEX)
    return root


def open_chat(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="First").click()
    page.evaluate(MEASURE)  # a first reply: the runtime started, the connection open


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    options = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH: `make browser` installs Debian's chromium package")
    samples: dict[str, list[float]] = {"stream.localhost": [], "/web (same origin)": []}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        pages = {}
        driver = stack.enter_context(sync_playwright())
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name, with_index in (("stream.localhost", True), ("/web (same origin)", False)):
            root = project(Path(scratch) / ("index" if with_index else "plain"), with_index)
            server = stack.enter_context(serve(root, "--log-level", "warning", "--services",
                                               "none", "--dev-ollama", "never",
                                               log_path=root / "log"))
            pages[name] = browser.new_page()
            open_chat(pages[name], f"http://localhost:{server.url.rsplit(':', 1)[1]}")
        for _ in range(options.rounds):
            for name, page in pages.items():
                samples[name].append(page.evaluate(MEASURE))
        browser.close()
    rows = [("streamed from", "p50 ms", "p90 ms", "min ms")]
    for name, values in samples.items():
        rows.append((name, f"{percentile(values, 50):.2f}", f"{percentile(values, 90):.2f}",
                     f"{min(values):.2f}"))
    cross, same = (percentile(v, 50) for v in samples.values())
    print(f"chromium, Enter to the first token painted, {options.rounds} rounds each, "
          f"alternating; {os.cpu_count()} cores")
    print(table(rows))
    print(f"stream.localhost - /web at p50: {cross - same:+.2f} ms (target: within 5 ms)")


if __name__ == "__main__":
    main()
