"""The platform services: how soon each is ready, started together; `up`'s first answer while
they start; what a warm action doing one Redis GET adds to a warm no-op; each idle service's
memory.

    make bench        (or: .venv/bin/python benchmarks/services.py [--requests N])

Targets: Redis and Postgres ready within 2 s, S3 within 3 s, Milvus within 10 s (in
parallel); the first answer within 1 s; a Redis GET adds at most 0.3 ms (p50); from an action,
a Milvus search for the 5 nearest of 10,000 1024-dimensional vectors within 30 ms (p50), of
100,000 within 100 ms, beside a brute-force numpy scan of the same vectors in the same action
(the floor), and 10,000 vectors inserted in batches of 1,000 within 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import RawHttp, served_url, timed_requests
from _stats import ms, percentile, table, tree_rss_mib

from streamwhisk.actionloop.tree import children

PROJECT = Path(__file__).parent / "services_project"
SIZES = (10_000, 100_000)
SEARCHES = 50
TARGETS = {"redis": 2.0, "postgres": 2.0, "s3": 3.0, "milvus": 10.0}
_READY = re.compile(r"service (\w+) ready in ([\d.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-services-") as scratch:
        root = Path(scratch)
        project = Path(shutil.copytree(PROJECT, root / "project"))
        log = root / "up.log"
        env = {**os.environ, "STREAMWHISK_DATA_DIR": str(root / "data"),
               "STREAMWHISK_LOGIN_FILE": str(root / "none.env")}
        for variable in ("REDIS_URL", "S3_API_URL", "POSTGRES_URL", "MILVUS_HOST"):
            env.pop(variable, None)
        started = time.perf_counter()
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "streamwhisk", "up", "--project",
                                        str(project), "--port", "0", "--services", "all",
                                        "--log-level", "info"], stdout=out,
                                       stderr=subprocess.STDOUT, env=env)
        try:
            url = served_url(log, process)
            http = RawHttp(url)
            while True:
                try:
                    code, _ = http.get("/api/v1/namespaces")
                    break
                except OSError:
                    http = RawHttp(url)
                    time.sleep(0.002)
            first = time.perf_counter() - started
            assert code == 401, code
            deadline = time.monotonic() + 60
            while len(_READY.findall(log.read_text())) < len(TARGETS) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            ready = {name: float(seconds) for name, seconds in _READY.findall(log.read_text())}
            noop = timed_requests(http, "/api/v1/web/guest/bench/noop", options.requests, warm=50)
            redis_get = timed_requests(http, "/api/v1/web/guest/bench/redisget", options.requests,
                                       warm=50)
            vectors = {}
            for size in SIZES:
                code, body = http.get(f"/api/v1/web/guest/bench/milvussearch?fill={size}")
                assert code == 200, (code, body)
                inserted = json.loads(body)
                vectors[size] = (inserted, *(timed_requests(
                    http, f"/api/v1/web/guest/bench/milvussearch?{how}=1", SEARCHES, warm=3)
                    for how in ("search", "floor")))
            time.sleep(1)
            # each service runs below its keeper, below up
            memory = {_service_of(pid): tree_rss_mib(pid)
                      for keeper in children(process.pid) for pid in children(keeper)
                      if _service_of(pid)}
            http.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    rows = [("measure", "value", "target")]
    for name, target in TARGETS.items():
        rows.append((f"{name} ready (started together)", f"{ready.get(name, float('nan')):.2f} s",
                     f"<= {target:.0f} s"))
    rows.append(("up → first answer, services starting", f"{first:.2f} s", "<= 1 s"))
    p50 = lambda xs: percentile(xs, 50)  # noqa: E731
    rows.append((f"warm no-op action p50 (n={len(noop)})", ms(p50(noop)), ""))
    rows.append((f"warm action with one Redis GET p50 (n={len(redis_get)})",
                 ms(p50(redis_get)), ""))
    rows.append(("  added by the Redis GET", ms(p50(redis_get) - p50(noop)), "<= 0.3 ms"))
    for size, (inserted, searches, floor) in vectors.items():
        rows.append((f"Milvus: insert {inserted['inserted']:,} 1024-d vectors, batches of 1,000",
                     f"{inserted['seconds']:.2f} s", "<= 5 s" if size == SIZES[0] else ""))
        rows.append((f"Milvus search, 5 nearest of {size:,}, from an action, p50 "
                     f"(n={SEARCHES})", ms(p50(searches)),
                     "<= 30 ms" if size == SIZES[0] else "<= 100 ms"))
        rows.append((f"  floor: numpy scan of the same {size:,} in the action, p50",
                     ms(p50(floor)), ""))
    for name, mib in sorted(memory.items()):
        rows.append((f"{name} idle, resident memory", f"{mib:.1f} MiB", ""))
    print(f"services ({os.cpu_count()} cores)")
    print(table(rows))


def _service_of(pid: int) -> str:
    try:
        program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return ""
    for marker, name in ((b"redis-server", "redis"), (b"weed", "s3"),
                         (b"postgres", "postgres")):
        if marker in program:
            return name
    if b"milvus_server" in Path(f"/proc/{pid}/cmdline").read_bytes():
        return "milvus"
    return ""


if __name__ == "__main__":
    main()
