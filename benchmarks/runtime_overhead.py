"""Warm web-action overhead vs a direct in-process call of the same main, and worker cold start.

    make bench        (or: .venv/bin/python benchmarks/runtime_overhead.py [--requests N])

Both are measured in the same run, so the machine's noise hits both alike; read the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _stats import ms, percentile, table

from streamwhisk.testing import serve

PROJECT = Path(__file__).parent / "project"


def direct_calls(count: int) -> list[float]:
    spec = importlib.util.spec_from_file_location("noop", PROJECT / "packages/bench/noop.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        module.main({"name": "x"})
        samples.append(time.perf_counter() - started)
    return samples


def warm_requests(url: str, count: int) -> list[float]:
    samples = []
    with httpx.Client(base_url=url) as client:
        for _ in range(20):
            client.get("/api/v1/web/guest/bench/noop?name=x")
        for _ in range(count):
            started = time.perf_counter()
            response = client.get("/api/v1/web/guest/bench/noop?name=x")
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
    return samples


def cold_starts(url: str, action: Path, count: int) -> list[float]:
    """Each edit of the action retires its pool, so the next request starts a new worker."""
    samples = []
    with httpx.Client(base_url=url) as client:
        for i in range(count):
            action.write_text(f"#--web true\ndef main(args):\n    return {{'body': {i}}}\n")
            started = time.perf_counter()
            response = client.get("/api/v1/web/guest/bench/cold")
            samples.append(time.perf_counter() - started)
            assert response.text == str(i), (i, response.status_code, response.text)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(shutil.copytree(PROJECT, Path(scratch) / "project"))
        with serve(project, "--log-level", "warning", log_path=Path(scratch) / "log") as server:
            direct = direct_calls(options.requests)
            warm = warm_requests(server.url, options.requests)
            cold = cold_starts(server.url, project / "packages/bench/cold.py", options.cold)
    overhead = [w - percentile(direct, 50) for w in warm]
    rows = [("measure", "p50", "p99", "vs direct p50")]
    rows.append(("direct main(args) in-process", ms(percentile(direct, 50)),
                 ms(percentile(direct, 99)), "1x"))
    rows.append((f"warm GET /api/v1/web (n={len(warm)})", ms(percentile(warm, 50)),
                 ms(percentile(warm, 99)),
                 f"{percentile(warm, 50) / percentile(direct, 50):.0f}x"))
    rows.append(("warm overhead (target p50 < 3 ms)", ms(percentile(overhead, 50)),
                 ms(percentile(overhead, 99)), ""))
    rows.append((f"cold start: new worker + request (n={len(cold)}, target < 200 ms)",
                 ms(percentile(cold, 50)), ms(percentile(cold, 99)),
                 f"{percentile(cold, 50) / percentile(warm, 50):.0f}x warm"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(table(rows))


if __name__ == "__main__":
    main()
