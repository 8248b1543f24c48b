"""Percentiles, a side-by-side table and a process tree's memory for the benchmark scripts."""

from __future__ import annotations

import statistics
from pathlib import Path

from streamwhisk.actionloop.tree import descendants


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     for row in rows)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def tree_rss_mib(root: int) -> float:
    """The resident memory of a process and all its descendants, in MiB."""
    total = 0
    for pid in [root, *descendants(root)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024
