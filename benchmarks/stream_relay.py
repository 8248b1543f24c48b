"""The relay against the floor: the same action's messages read straight from a socket.

    make bench   (or: .venv/bin/python benchmarks/stream_relay.py [--streams 200])

(a) floor: a bare warm process runs the emit action and the client reads its socket directly;
(b) relay: the client POSTs to /web/... on `streamwhisk up` and reads NDJSON.
Both run in the same process run, one after the other, so machine noise hits both; read the
differences and ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _stats import ms, percentile, table

from streamwhisk.stream import MessageDecoder
from streamwhisk.testing import serve

HERE = Path(__file__).parent
Received = tuple[float, list[tuple[float, dict[str, Any]]]]  # start, [(arrival, message)]
Streamer = Callable[[dict[str, Any]], Received]


class Floor:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(HERE / "_floor_emitter.py")],
                                        stdin=subprocess.PIPE, text=True)
        self._lock = threading.Lock()

    def stream(self, params: dict[str, Any]) -> Received:
        with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
            port = listener.getsockname()[1]
            started = time.time()
            assert self.process.stdin is not None
            with self._lock:
                self.process.stdin.write(json.dumps(
                    {**params, "STREAM_HOST": "127.0.0.1", "STREAM_PORT": str(port)}) + "\n")
                self.process.stdin.flush()
            connection, _ = listener.accept()
        received: list[tuple[float, dict[str, Any]]] = []
        decoder = MessageDecoder()
        with connection:
            while data := connection.recv(256 * 1024):
                now = time.time()
                received.extend((now, message) for message in decoder.feed(data))
        return started, received

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


class Relayed:
    """A plain blocking HTTP client, as curl or a script would read the stream."""

    def __init__(self, url: str) -> None:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        self.client = httpx.Client(base_url=url, timeout=120, limits=limits)

    def stream(self, params: dict[str, Any]) -> Received:
        received: list[tuple[float, dict[str, Any]]] = []
        started = time.time()
        with self.client.stream("POST", "/web/guest/bench/emit", json=params) as response:
            for line in response.iter_lines():
                if not line:
                    continue
                message = json.loads(line)
                if "done" in message:
                    assert "result" in message, (message, received[:3])
                    break
                received.append((time.time(), message))
        return started, received


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
    assert len(received) == count
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


def measure(stream: Streamer, options: argparse.Namespace) -> dict[str, Any]:
    concurrent_gaps(stream, options.streams, 2, 1)  # warm: every worker and thread started
    return {
        "first": first_message(stream, options.trials),
        "latency": latencies(stream, 1000, 200),
        "rate": throughput(stream, options.messages),
        "gaps": concurrent_gaps(stream, options.streams, 20, options.seconds),
    }


def run(options: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    floor = Floor()
    try:
        floor_figures = measure(floor.stream, options)
    finally:
        floor.close()
    with tempfile.TemporaryDirectory() as scratch, serve(
        HERE / "project", "--log-level", "warning", "--max-workers", "16",
        log_path=Path(scratch) / "log",
    ) as server:
        relayed = Relayed(server.url)
        try:
            relay_figures = measure(relayed.stream, options)
        finally:
            relayed.client.close()
    return floor_figures, relay_figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200, help="streams for first-message time")
    parser.add_argument("--messages", type=int, default=100_000, help="messages on one stream")
    parser.add_argument("--streams", type=int, default=200, help="concurrent streams")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each stream")
    options = parser.parse_args()
    floor, relay = run(options)
    p50 = lambda xs: percentile(xs, 50)  # noqa: E731
    p99 = lambda xs: percentile(xs, 99)  # noqa: E731
    rows = [("measure", "(a) floor: socket", "(b) relay: HTTP", "relay - floor", "target")]
    rows.append(("time to first message p50", ms(p50(floor["first"])), ms(p50(relay["first"])),
                 ms(p50(relay["first"]) - p50(floor["first"])), "added < 2 ms"))
    rows.append(("per-message latency p50 (200 msg/s)", ms(p50(floor["latency"])),
                 ms(p50(relay["latency"])), ms(p50(relay["latency"]) - p50(floor["latency"])), ""))
    rows.append(("per-message latency p99 (200 msg/s)", ms(p99(floor["latency"])),
                 ms(p99(relay["latency"])), ms(p99(relay["latency"]) - p99(floor["latency"])), ""))
    rows.append((f"messages/s, one stream of {options.messages}", f"{floor['rate']:,.0f}",
                 f"{relay['rate']:,.0f}", f"{relay['rate'] / floor['rate']:.2f}x",
                 ">= 20,000/s"))
    rows.append((f"gap p99, {options.streams} streams x 20 msg/s (ideal 50 ms)",
                 ms(p99(floor["gaps"])), ms(p99(relay["gaps"])),
                 ms(p99(relay["gaps"]) - p99(floor["gaps"])), "< 100 ms"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(table(rows))


if __name__ == "__main__":
    main()
