"""What keeping a record of every activation costs: the same project served twice at once,
recording (the default) and not (`--keep-activations 0`), measured in turn, round after round,
so the machine's noise falls on both alike.

    make bench        (or: .venv/bin/python benchmarks/recording.py [--rounds N])

Targets: recording adds at most 0.05 ms to a warm action's p50, and costs at most 2% of one
stream's messages per second.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import RawHttp, json_lines, timed_requests
from _stats import ms, percentile, table

from streamwhisk.testing import RunningServer, serve

PROJECT = Path(__file__).parent / "project"
NOOP = "/api/v1/web/guest/bench/noop?name=x"
EMIT = "/web/guest/bench/emit"
# after each measure, the recording server's journal writes what it gathered: let it, so it
# is not the other server's measure that pays for it
SETTLE_S = 0.2


def messages_per_second(http: RawHttp, count: int) -> float:
    received = [arrival for arrival, message in json_lines(http.stream(EMIT, {"n": count}))
                if "done" not in message]
    assert len(received) == count, len(received)
    return count / (received[-1] - received[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=150, help="per round and server")
    parser.add_argument("--messages", type=int, default=20_000, help="per stream")
    options = parser.parse_args()
    warm: dict[str, list[float]] = {"on": [], "off": []}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        servers: dict[str, RunningServer] = {}
        for name, options_of in (("on", ()), ("off", ("--keep-activations", "0"))):
            project = Path(shutil.copytree(PROJECT, Path(scratch) / name))
            servers[name] = stack.enter_context(serve(
                project, "--log-level", "warning", *options_of,
                log_path=Path(scratch) / f"{name}.log",
                env={"STREAMWHISK_DATA_DIR": str(Path(scratch) / f"{name}-data")}))
        clients = {name: RawHttp(server.url) for name, server in servers.items()}
        for _ in range(options.rounds):
            for name in ("on", "off"):
                warm[name] += timed_requests(clients[name], NOOP, options.requests)
                time.sleep(SETTLE_S)
                rates[name].append(messages_per_second(clients[name], options.messages))
                time.sleep(SETTLE_S)
        for client in clients.values():
            client.close()
    on, off = percentile(warm["on"], 50), percentile(warm["off"], 50)
    rate_on, rate_off = statistics.median(rates["on"]), statistics.median(rates["off"])
    rows = [("measure", "recording", "not recording", "difference", "target"),
            (f"warm action p50 (n={len(warm['on'])})", ms(on), ms(off), ms(on - off),
             "<= +0.05 ms"),
            (f"one stream of {options.messages:,}, messages/s (median of {options.rounds})",
             f"{rate_on:,.0f}", f"{rate_off:,.0f}", f"{rate_on / rate_off:.3f}x",
             ">= 0.98x")]
    print(table(rows))


if __name__ == "__main__":
    main()
