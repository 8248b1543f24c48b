"""Rendering a 10,000-token reply in the chat page, in Chromium: incremental vs whole-text.

    make bench   (or: .venv/bin/python benchmarks/page_render.py [--tokens 10000])

Tokens arrive in frames of `--per-frame` tokens (4 is 240 tokens/s at 60 frames/s). After each
frame the page renders: (a) the whole text parsed and sanitized again, which is what
re-rendering on every token costs once throttled to frames; (b) the page's ReplyView, which
parses finished blocks once and re-renders only the tail. A frame over 16.7 ms drops frames;
the cost at the end of the reply is what decides whether a long reply freezes the page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).parent))
from _stats import table

from streamwhisk.testing import serve

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BLOCK = """## A section

A paragraph with **bold**, `code` and a [link](https://example.org/) about streaming.

- item one
- item two with more words in it

```python
def f(x):
    return x * 2
```

| a | b |
|---|---|
| 1 | 2 |

"""
MEASURE = """async ({ block, tokens, perFrame }) => {
  const { ReplyView, markdownToSafeHtml } = await import('/_streamwhisk/static/render.js');
  const words = [];
  while (words.length < tokens) words.push(...block.match(/\\s*[\\w']+|\\s*[^\\w\\s]|\\s+/g));
  words.length = tokens;
  const frames = [];
  for (let i = 0; i < words.length; i += perFrame) frames.push(words.slice(i, i + perFrame));
  function run(renderFrame) {
    const costs = [];
    for (const frame of frames) {
      const started = performance.now();
      renderFrame(frame);
      costs.push(performance.now() - started);
    }
    return costs;
  }
  const whole = document.createElement('div');
  document.body.append(whole);
  let text = '';
  const wholeCosts = run((frame) => {
    text += frame.join('');
    whole.innerHTML = markdownToSafeHtml(text);
  });
  whole.remove();
  const box = document.createElement('div');
  document.body.append(box);
  const view = new ReplyView(box);
  const incrementalCosts = run((frame) => {
    for (const token of frame) view.text += token;
    view.render(false);
  });
  return { wholeCosts, incrementalCosts, chars: text.length };
}"""


def summary(costs: list[float]) -> tuple[float, float, float, float]:
    tail = sorted(costs[-100:])
    return sum(costs), max(costs), tail[len(tail) // 2], sum(c > 1000 / 60 for c in costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--per-frame", type=int, default=4)
    options = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH: `make browser` installs Debian's chromium package")
    with tempfile.TemporaryDirectory() as scratch, serve(
        REPO, "--log-level", "warning", log_path=Path(scratch) / "log"
    ) as server, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url + "/")
        result = page.evaluate(MEASURE, {"block": BLOCK, "tokens": options.tokens,
                                         "perFrame": options.per_frame})
        browser.close()
    rows = [("strategy", "total ms", "worst frame ms", "frame ms at the end (p50)",
             "frames over 16.7 ms")]
    for name, key in (("(a) whole text parsed every frame", "wholeCosts"),
                      ("(b) ReplyView: finished blocks once, tail", "incrementalCosts")):
        total, worst, end, slow = summary(result[key])
        rows.append((name, f"{total:,.0f}", f"{worst:.1f}", f"{end:.2f}", f"{slow:,.0f}"))
    frames = len(result["wholeCosts"])
    print(f"chromium, {options.tokens} tokens ({result['chars']:,} characters) in {frames} "
          f"frames of {options.per_frame}; {os.cpu_count()} cores")
    print(table(rows))


if __name__ == "__main__":
    main()
