"""How long `streamwhisk --help` takes, beside `import click` alone (what any click CLI
costs), each the median of 15 runs in fresh interpreters, in turn.

    make bench        (or: .venv/bin/python benchmarks/cli_start.py)

Target: `--help` within twice `import click`: commands import what they use when they run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    helped, clicked = [], []
    for _ in range(RUNS):  # in turn: a slow spell falls on both
        helped.append(seconds([sys.executable, "-m", "streamwhisk", "--help"]))
        clicked.append(seconds([sys.executable, "-c", "import click"]))
    help_s, click_s = statistics.median(helped), statistics.median(clicked)
    print(f"cli start ({RUNS} runs each, medians)")
    print(f"streamwhisk --help  {help_s:.3f} s")
    print(f"import click        {click_s:.3f} s")
    print(f"ratio               {help_s / click_s:.2f}x   target <= 2x")


if __name__ == "__main__":
    main()
