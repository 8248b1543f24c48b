"""Many users at once: requests/s, p50, p99 and the server's memory at concurrency 1, 10, 100
and 200, for a warm web action, a 20-message stream, and the HTTP floor (a request the server
answers without running anything: a 401 from the REST API), all in one run.

    make bench        (or: .venv/bin/python benchmarks/load.py [--requests N])

Each of C clients keeps one connection open and sends its requests one after another, as a
browser's page does, N requests per level in all. The levels are run in turn, R rounds, and
each level's requests/s is its median round (the machine is shared: a slow spell then falls
on every level alike); p50 and p99 are over all its rounds' requests. The client is uvloop on
raw sockets with httptools (uvicorn's own loop and parser), so it costs little of the 2 cores
it shares with the server. Memory: the largest resident set of the server's whole process
tree (server, fork server, workers) seen at the end of the level's rounds. Read the ratios:
at 100 and 200 users, requests/s should stay at least 0.9x the best of 1 and 10, and p99
within 4x p50.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httptools
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from _stats import median, percentile, table, tree_rss_mib

from streamwhisk.testing import serve

PROJECT = Path(__file__).parent / "project"
LEVELS = (1, 10, 100, 200)
TARGETS = {  # name: (method, path, expected status)
    "HTTP floor (401)": ("GET", "/api/v1/namespaces/_/actions", 401),
    "warm action": ("GET", "/api/v1/web/guest/bench/noop?name=x", 200),
    "20-message stream": ("POST", "/web/guest/bench/stream20", 200),
}


class _Answer:
    def __init__(self) -> None:
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


class Client:
    """One user: a keep-alive connection, a request at a time."""

    def __init__(self, address: tuple[str, int], request: bytes, status: int) -> None:
        self.address, self.request, self.status = address, request, status
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.refused = 0  # answers other than the expected one (a 503 when overloaded)

    async def once(self) -> float:
        started = time.perf_counter()
        if self.streams is None:
            self.streams = await asyncio.open_connection(*self.address)
        reader, writer = self.streams
        writer.write(self.request)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection under the client")
            parser.feed_data(data)
        self.refused += parser.get_status_code() != self.status
        return time.perf_counter() - started


def request_bytes(method: str, path: str, host: str) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if method == "POST":
        head += "Content-Type: application/json\r\nContent-Length: 2\r\n"
    return head.encode() + b"\r\n" + (b"{}" if method == "POST" else b"")


async def level(url: str, target: tuple[str, str, int], users: int,
                requests: int) -> tuple[float, list[float], int]:
    """Requests/s, the latencies of `requests` requests from `users` at once, and how many
    were not answered as expected."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    method, path, status = target
    request = request_bytes(method, path, parts.netloc)
    left = requests
    samples: list[float] = []
    refused = 0

    async def user() -> None:
        nonlocal left, refused
        client = Client(address, request, status)
        while left > 0:
            left -= 1
            samples.append(await client.once())
        if client.streams is not None:
            client.streams[1].close()
        refused += client.refused

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(users)))
    return len(samples) / (time.perf_counter() - started), samples, refused


async def sequences(url: str, runs: int, requests: int) -> int:
    """`runs` connections one after another, `requests` warm requests each in sequence;
    how many requests found their connection closed under them."""
    parts = urlsplit(url)
    method, path, status = TARGETS["warm action"]
    request = request_bytes(method, path, parts.netloc)
    closed = 0
    for _ in range(runs):
        client = Client((parts.hostname or "127.0.0.1", parts.port or 80), request, status)
        for _ in range(requests):
            try:
                await client.once()
            except ConnectionError:
                closed += 1
                client.streams = None
        if client.streams is not None:
            client.streams[1].close()
    return closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per level and round")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    rows = [("target", "users", "requests/s", "p50", "p99", "p99/p50", "server RSS",
             "vs best of 1, 10", "refused")]
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(shutil.copytree(PROJECT, Path(scratch) / "project"))
        with serve(project, "--log-level", "warning", "--dev-ollama", "never",
                   log_path=Path(scratch) / "log") as server:
            for name, target in TARGETS.items():
                uvloop.run(level(server.url, target, 10, 200))  # warm: workers, code paths
                rates: dict[int, list[float]] = {users: [] for users in LEVELS}
                latencies: dict[int, list[float]] = {users: [] for users in LEVELS}
                refusals = dict.fromkeys(LEVELS, 0)
                memory: dict[int, float] = {}
                # the levels in turn, several rounds: a slow spell of the shared machine
                # falls on every level alike instead of on one
                for _ in range(options.rounds):
                    for users in LEVELS:
                        rate, samples, refused = uvloop.run(level(
                            server.url, target, users, options.requests))
                        rates[users].append(rate)
                        latencies[users] += samples
                        refusals[users] += refused
                        memory[users] = max(memory.get(users, 0), tree_rss_mib(server.pid))
                best = max(median(rates[1]), median(rates[10]))
                for users in LEVELS:
                    rate, samples = median(rates[users]), latencies[users]
                    p50, p99 = percentile(samples, 50), percentile(samples, 99)
                    rows.append((name, str(users), f"{rate:,.0f}", f"{p50 * 1000:.1f} ms",
                                 f"{p99 * 1000:.1f} ms", f"{p99 / p50:.1f}x",
                                 f"{memory[users]:.0f} MiB",
                                 f"{rate / best:.2f}x" if users > 10 else "",
                                 str(refusals[users])))
            closed = uvloop.run(sequences(server.url, 10, options.requests))
    print(f"load, {options.rounds} rounds of {options.requests} requests per level "
          "(requests/s: the median round); 2 cores shared by client and server")
    print(table(rows))
    print(f"keep-alive: 10 connections x {options.requests} sequential requests, "
          f"{closed} found their connection closed")


if __name__ == "__main__":
    main()
