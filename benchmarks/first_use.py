"""First use: how soon `up` answers with an empty runtime cache, beside a cache already built,
and how long rebuilding the python:default runtime takes from a warm download cache.

    make bench        (or: .venv/bin/python benchmarks/first_use.py [--runs N])

Targets: the first answer within 1 s of starting `up`, cache empty or not (the runtime is
built in the background); a rebuild within 10 s. The installer runs offline (UV_OFFLINE=1):
its download cache is the one `make setup` filled, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import served_url
from _stats import median, table

REPO = Path(__file__).resolve().parent.parent
OFFLINE = {"UV_OFFLINE": "1"}


def first_answer(cache: Path, home: Path) -> float:
    """Seconds from starting `up` to its first answer (a 401 from the REST API)."""
    import httpx

    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "up.log"
        env = {**os.environ, **OFFLINE, "HOME": str(home), "STREAMWHISK_CACHE_DIR": str(cache),
               "STREAMWHISK_LOGIN_FILE": str(Path(scratch) / "none.env")}
        started = time.perf_counter()
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "streamwhisk", "up", "--project",
                                        str(REPO), "--port", "0"], stdout=out,
                                       stderr=subprocess.STDOUT, env=env)
        try:
            url = served_url(log, process, within_s=30)
            while True:
                try:
                    status = httpx.get(url + "/api/v1/namespaces", timeout=10).status_code
                    break
                except httpx.TransportError:
                    time.sleep(0.005)
            elapsed = time.perf_counter() - started
            assert status == 401, status
            _wait_for_runtime(url)  # leave nothing half-built for the next run
            return elapsed
        finally:
            process.terminate()
            process.wait(timeout=20)


def _wait_for_runtime(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runtimes = httpx.get(url + "/_streamwhisk/status", timeout=10).json()["runtimes"]
        if all(r["state"] != "building" for r in runtimes):
            return
        time.sleep(0.1)


def rebuild(cache: Path) -> float:
    """Seconds to build the python:default runtime again, its folder gone, uv's cache warm."""
    code = ("import time; from streamwhisk.runtime.runtimes import Runtimes; "
            "t = time.perf_counter(); Runtimes(progress=lambda _: None).build('python:default'); "
            "print(time.perf_counter() - t)")
    shutil.rmtree(cache / "runtimes", ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **OFFLINE, "STREAMWHISK_CACHE_DIR": str(cache)},
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-first-use-") as scratch:
        root = Path(scratch)
        empty, warm = [], []
        for run in range(runs):
            cache = root / f"cache{run}"
            empty.append(first_answer(cache, root / f"home{run}"))  # empty: built meanwhile
            warm.append(first_answer(cache, root / f"home{run}"))  # the same cache, now built
        rebuilds = [rebuild(root / "cache0") for _ in range(runs)]
    print(f"first use ({runs} runs each, medians; installer offline from its warm cache)")
    print(table([
        ("", "median", "target"),
        ("up → first answer, runtime cache empty", f"{median(empty):.2f} s", "≤ 1 s"),
        ("up → first answer, runtime cache built", f"{median(warm):.2f} s", ""),
        ("  ratio empty / built", f"{median(empty) / median(warm):.2f}x", ""),
        ("rebuild python:default from warm cache", f"{median(rebuilds):.2f} s", "≤ 10 s"),
    ]))


if __name__ == "__main__":
    main()
