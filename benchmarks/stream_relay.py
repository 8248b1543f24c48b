"""The relay against the floor: the same action's messages read straight from a socket.

    make bench   (or: .venv/bin/python benchmarks/stream_relay.py [--streams 200])

(a) floor: a bare warm process runs the emit action and the client reads its socket directly;
(b) relay: the client POSTs to /web/... on `streamwhisk up` and reads NDJSON.
Both clients are raw sockets (see _rawhttp.py) and run in the same process run, one after
the other, so machine noise hits both; read the differences and ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httptools

sys.path.insert(0, str(Path(__file__).parent))
from _rawhttp import RawHttp, json_lines
from _stats import ms, percentile, table

from streamwhisk.project import DEFAULT_KIND
from streamwhisk.runtime.runtimes import Runtimes
from streamwhisk.stream import MessageDecoder
from streamwhisk.testing import RunningServer, serve

HERE = Path(__file__).parent
Received = tuple[float, list[tuple[float, dict[str, Any]]]]  # start, [(arrival, message)]
Streamer = Callable[[dict[str, Any]], Received]
AsyncCounter = Callable[[dict[str, Any]], Awaitable[int]]


class Floor:
    def __init__(self) -> None:
        # the interpreter the relayed action runs on: python:default's runtime environment
        python = Runtimes().build(DEFAULT_KIND).python
        self.process = subprocess.Popen([python, str(HERE / "_floor_emitter.py")],
                                        stdin=subprocess.PIPE, text=True)
        self._lock = threading.Lock()

    def start(self, params: dict[str, Any], port: int) -> None:
        assert self.process.stdin is not None
        with self._lock:
            self.process.stdin.write(json.dumps(
                {**params, "STREAM_HOST": "127.0.0.1", "STREAM_PORT": str(port)}) + "\n")
            self.process.stdin.flush()

    def stream(self, params: dict[str, Any]) -> Received:
        with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
            started = time.time()
            self.start(params, listener.getsockname()[1])
            connection, _ = listener.accept()
        received: list[tuple[float, dict[str, Any]]] = []
        decoder = MessageDecoder()
        with connection:
            while data := connection.recv(256 * 1024):
                now = time.time()
                received.extend((now, message) for message in decoder.feed(data))
        return started, received

    async def count(self, params: dict[str, Any]) -> int:
        accepted: asyncio.Future[asyncio.StreamReader] = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(lambda r, w: accepted.set_result(r), "127.0.0.1", 0,
                                            backlog=8)
        self.start(params, server.sockets[0].getsockname()[1])
        reader = await accepted
        server.close()
        decoder, count = MessageDecoder(), 0
        while data := await reader.read(256 * 1024):
            count += len(decoder.feed(data))
        return count

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


class Relayed:
    PATH = "/web/guest/bench/emit"

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.http = RawHttp(server.url)

    def stream(self, params: dict[str, Any]) -> Received:
        received: list[tuple[float, dict[str, Any]]] = []
        started = time.time()
        for arrival, message in json_lines(self.http.stream(self.PATH, params)):
            if "done" in message:
                assert "result" in message, (message, received[:3])
                break
            received.append((arrival, message))
        return started, received

    async def count(self, params: dict[str, Any]) -> int:
        host, port = self.http.address
        reader, writer = await asyncio.open_connection(host, port)
        body = json.dumps(params).encode()
        writer.write(b"POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (self.PATH.encode(), host.encode(), port,
                                                        len(body), body))
        lines: list[bytes] = []
        done = asyncio.Event()

        class Collect:
            def on_body(self, chunk: bytes) -> None:
                lines.append(chunk)

            def on_message_complete(self) -> None:
                done.set()

        parser = httptools.HttpResponseParser(Collect())
        while not done.is_set():
            data = await reader.read(256 * 1024)
            if not data:
                break
            parser.feed_data(data)
        writer.close()
        messages = [json.loads(line) for line in b"".join(lines).split(b"\n") if line]
        if not messages or "result" not in messages[-1]:
            return -1  # an error or no `done`: counted as lost
        return len(messages) - 1


def first_message(stream: Streamer, trials: int) -> list[float]:
    samples = []
    for _ in range(trials):
        started, received = stream({"n": 1})
        samples.append(received[0][0] - started)
    return samples


def latencies(stream: Streamer, count: int, rate: float) -> list[float]:
    _, received = stream({"n": count, "rate": rate})
    return [arrival - message["t"] for arrival, message in received]


def throughput(stream: Streamer, count: int) -> float:
    _, received = stream({"n": count, "rate": 0})
    assert [message["i"] for _, message in received] == list(range(count)), "lost or reordered"
    return count / (received[-1][0] - received[0][0])


def concurrent_gaps(stream: Streamer, streams: int, rate: float, seconds: float) -> list[float]:
    """One reading thread per stream, all at once."""
    count = int(rate * seconds)
    with ThreadPoolExecutor(streams) as pool:
        results = list(pool.map(lambda _: stream({"n": count, "rate": rate}), range(streams)))
    gaps = []
    for _, received in results:
        assert len(received) == count, received[:3]
        arrivals = [arrival for arrival, _ in received]
        gaps.extend(b - a for a, b in itertools.pairwise(arrivals))
    return gaps


def many_at_once(count: AsyncCounter, streams: int, messages: int) -> tuple[int, int, float]:
    """`streams` streams of `messages` each, all open together from one event loop:
    (streams complete, messages lost, seconds)."""
    async def run() -> list[int]:
        return await asyncio.gather(*(count({"n": messages, "rate": messages})
                                      for _ in range(streams)))

    started = time.monotonic()
    counts = asyncio.run(run())
    elapsed = time.monotonic() - started
    complete = sum(1 for c in counts if c == messages)
    lost = sum(messages - max(c, 0) for c in counts)
    return complete, lost, elapsed


def measure(stream: Streamer, count: AsyncCounter,
            options: argparse.Namespace) -> dict[str, Any]:
    concurrent_gaps(stream, options.streams, 2, 1)  # warm: every worker and thread started
    many_at_once(count, options.many, 2)
    return {
        "first": first_message(stream, options.trials),
        "latency": latencies(stream, 1000, 200),
        "rate": throughput(stream, options.messages),
        "gaps": concurrent_gaps(stream, options.streams, 20, options.seconds),
        "many": many_at_once(count, options.many, 20),
    }


def memory_kib(pid: int, field: str = "Rss") -> int:
    """A process's Rss or Pss from /proc/PID/smaps_rollup, in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory(relayed: Relayed, streams: int) -> dict[str, float]:
    """On a fresh server: its memory per open stream (each sends one message, then waits
    3 s), and the memory of each idle worker afterwards."""
    server = relayed.server
    relayed.stream({"n": 1})  # the code paths loaded once
    before = memory_kib(server.pid)
    opened = threading.Barrier(streams + 1)
    peak: list[int] = []

    def hold(_: int) -> None:
        lines = relayed.http.stream(Relayed.PATH, {"n": 2, "rate": 1 / 3})
        next(lines)
        opened.wait()
        for _line in lines:
            pass

    with ThreadPoolExecutor(streams) as pool:
        futures = [pool.submit(hold, i) for i in range(streams)]
        opened.wait()
        peak.append(memory_kib(server.pid))
        for future in futures:
            future.result()
    workers = server.workers()
    return {
        "per_stream": (peak[0] - before) / streams,
        "worker_rss": sum(memory_kib(w) for w in workers) / len(workers),
        "worker_pss": sum(memory_kib(w, "Pss") for w in workers) / len(workers),
        "workers": len(workers),
    }


def run(options: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    floor = Floor()
    try:
        floor_figures = measure(floor.stream, floor.count, options)
    finally:
        floor.close()
    with tempfile.TemporaryDirectory() as scratch, serve(
        HERE / "project", "--log-level", "warning", "--max-workers", "48",
        log_path=Path(scratch) / "log",
    ) as server:
        relayed = Relayed(server)
        opened = memory(relayed, options.open)
        relay_figures = measure(relayed.stream, relayed.count, options)
        relay_figures["memory"] = opened
    return floor_figures, relay_figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200, help="streams for first-message time")
    parser.add_argument("--messages", type=int, default=100_000, help="messages on one stream")
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each stream")
    parser.add_argument("--many", type=int, default=1000, help="streams open at once")
    parser.add_argument("--open", type=int, default=500, help="open streams, for memory")
    options = parser.parse_args()
    floor, relay = run(options)
    p50 = lambda xs: percentile(xs, 50)  # noqa: E731
    p99 = lambda xs: percentile(xs, 99)  # noqa: E731
    rows = [("measure", "(a) floor: socket", "(b) relay: HTTP", "relay vs floor", "target")]
    rows.append(("time to first message p50", ms(p50(floor["first"])), ms(p50(relay["first"])),
                 "+" + ms(p50(relay["first"]) - p50(floor["first"])), "+0.5 ms at most"))
    rows.append(("per-message latency p50 (200 msg/s)", ms(p50(floor["latency"])),
                 ms(p50(relay["latency"])),
                 "+" + ms(p50(relay["latency"]) - p50(floor["latency"])), ""))
    rows.append(("per-message latency p99 (200 msg/s)", ms(p99(floor["latency"])),
                 ms(p99(relay["latency"])),
                 "+" + ms(p99(relay["latency"]) - p99(floor["latency"])), ""))
    rows.append((f"messages/s, one stream of {options.messages:,}", f"{floor['rate']:,.0f}",
                 f"{relay['rate']:,.0f}", f"{relay['rate'] / floor['rate']:.2f}x",
                 ">= 100,000/s and >= 0.6x"))
    rows.append((f"gap p99, {options.streams} streams x 20 msg/s (ideal 50 ms)",
                 ms(p99(floor["gaps"])), ms(p99(relay["gaps"])),
                 "+" + ms(p99(relay["gaps"]) - p99(floor["gaps"])), "+5 ms at most"))
    for figures in (floor, relay):
        complete, lost, seconds = figures["many"]
        figures["many_text"] = f"{complete}/{options.many} whole, {lost} lost, {seconds:.1f} s"
    rows.append((f"{options.many} streams at once x 20 msgs (concurrency-25 action)",
                 floor["many_text"], relay["many_text"], "", "all whole, none lost"))
    memory = relay["memory"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(table(rows))
    print(f"memory: server {memory['per_stream']:.0f} KiB per open stream "
          f"({options.open} open); {memory['workers']} idle workers (concurrency 25): "
          f"{memory['worker_pss'] / 1024:.1f} MiB PSS, {memory['worker_rss'] / 1024:.1f} MiB "
          "RSS each")


if __name__ == "__main__":
    main()
