"""Warm web-action overhead vs a direct in-process call of the same main, cold starts, and
the memory of an idle worker.

    make bench        (or: .venv/bin/python benchmarks/runtime_overhead.py [--requests N])

All measured in the same run, so the machine's noise hits all alike; read the differences.
The client is a raw keep-alive socket (see _rawhttp.py), so the figures are the server's;
the "no action" row is a request the server answers without running anything (a 401 from
the REST API): what HTTP alone costs here.
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

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import RawHttp, timed_requests
from _stats import ms, percentile, table

from streamwhisk.testing import serve

PROJECT = Path(__file__).parent / "project"
NOOP = "/api/v1/web/guest/bench/noop?name=x"


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


def cold_starts(http: RawHttp, action: Path, count: int) -> list[float]:
    """Each edit of the action retires its pool, so the next request starts a new worker."""
    samples = []
    for i in range(count):
        action.write_text(f"#--web true\ndef main(args):\n    return {{'body': {i}}}\n")
        started = time.perf_counter()
        code, body = http.get("/api/v1/web/guest/bench/cold")
        samples.append(time.perf_counter() - started)
        assert (code, body) == (200, str(i).encode()), (i, code, body)
    return samples


def pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(shutil.copytree(PROJECT, Path(scratch) / "project"))
        with serve(project, "--log-level", "warning", log_path=Path(scratch) / "log") as server:
            http = RawHttp(server.url)
            direct = direct_calls(options.requests)
            floor = timed_requests(http, "/api/v1/namespaces/_/actions", options.requests, 401)
            warm = timed_requests(http, NOOP, options.requests, 200)
            cold = cold_starts(http, project / "packages/bench/cold.py", options.cold)
            idle = [pss_mib(pid) for pid in server.workers()]
            http.close()
    p50 = lambda xs: percentile(xs, 50)  # noqa: E731
    p99 = lambda xs: percentile(xs, 99)  # noqa: E731
    rows = [("measure", "p50", "p99", "target")]
    rows.append(("direct main(args) in-process", ms(p50(direct)), ms(p99(direct)), ""))
    rows.append(("HTTP, no action (401 from the REST API)", ms(p50(floor)), ms(p99(floor)), ""))
    rows.append((f"warm GET /api/v1/web (n={len(warm)})", ms(p50(warm)), ms(p99(warm)), ""))
    rows.append(("warm: added to the direct call", ms(p50(warm) - p50(direct)),
                 ms(p99(warm) - p99(direct)), "p50 <= 0.7 ms"))
    rows.append((f"cold start: new worker + request (n={len(cold)})", ms(p50(cold)),
                 ms(p99(cold)), "p50 <= 25 ms"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(table(rows))
    print(f"memory: {len(idle)} idle workers, {sum(idle) / len(idle):.1f} MiB PSS each "
          "(pages shared with the fork server counted in proportion)")


if __name__ == "__main__":
    main()
