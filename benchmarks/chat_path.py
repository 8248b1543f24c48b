"""The stateless chat through the whole path against reading the dev Ollama directly.

    make bench   (or: .venv/bin/python benchmarks/chat_path.py [--rate 200])

(a) direct: an HTTP client streams /api/generate from the dev Ollama;
(b) path: the same client streams /web/guest/chat/stateless from `streamwhisk up`, whose
    worker streams the same reply from the same dev Ollama and relays it.
Both in one run, one after the other; read the differences and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _stats import ms, percentile, table

from streamwhisk.testing import serve, serve_dev_ollama

HERE = Path(__file__).parent
REPO = HERE.parent
Tokens = Callable[[str], Iterator[str]]


def direct(client: httpx.Client, url: str) -> Tokens:
    def tokens(prompt: str) -> Iterator[str]:
        body = {"model": "llama3.1:8b", "prompt": prompt, "stream": True}
        with client.stream("POST", url + "/api/generate", json=body) as response:
            for line in response.iter_lines():
                chunk = json.loads(line)
                if chunk.get("response"):
                    yield chunk["response"]
    return tokens


def path(client: httpx.Client, url: str) -> Tokens:
    def tokens(prompt: str) -> Iterator[str]:
        with client.stream("POST", url + "/web/guest/chat/stateless",
                           json={"input": prompt}) as response:
            for line in response.iter_lines():
                if line:
                    message = json.loads(line)
                    if message.get("output"):
                        yield message["output"]
    return tokens


def first_token(tokens: Tokens, trials: int) -> list[float]:
    samples = []
    for _ in range(trials):
        started = time.perf_counter()
        stream = tokens("ping")
        next(stream)
        samples.append(time.perf_counter() - started)
        for _ in stream:
            pass
    return samples


def rate(tokens: Tokens, runs: int) -> float:
    """Tokens per second between the first and the last token, best of `runs`."""
    best = 0.0
    for _ in range(runs):
        arrivals = [time.perf_counter() for _ in tokens("long")]
        best = max(best, (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", default="200", help="the dev Ollama's tokens per second")
    parser.add_argument("--trials", type=int, default=50, help="replies for first-token time")
    parser.add_argument("--runs", type=int, default=3, help="long replies for tokens/s")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, serve_dev_ollama(
        "--token-rate", options.rate, "--script", str(HERE / "chat_replies.toml"),
        "--auth", "", log_path=Path(scratch) / "ollama.log",
    ) as ollama, serve(
        REPO, "--log-level", "warning", log_path=Path(scratch) / "up.log",
        env={"OLLAMA_HOST": ollama.url.removeprefix("http://"), "AUTH": None,
             "STREAMWHISK_LOGIN_FILE": str(Path(scratch) / "no-login.env")},
    ) as server, httpx.Client(timeout=120) as client:
        sides = {"direct": direct(client, ollama.url), "path": path(client, server.url)}
        for tokens in sides.values():
            first_token(tokens, 3)  # warm: connections, the worker
        ttft = {name: first_token(tokens, options.trials) for name, tokens in sides.items()}
        speed = {name: rate(tokens, options.runs) for name, tokens in sides.items()}
    added = percentile(ttft["path"], 50) - percentile(ttft["direct"], 50)
    loss = 1 - speed["path"] / speed["direct"]
    rows = [("measure", "(a) direct: dev Ollama", "(b) path: streamer", "difference", "target"),
            ("time to first token p50", ms(percentile(ttft["direct"], 50)),
             ms(percentile(ttft["path"], 50)), ms(added), "added < 5 ms"),
            ("time to first token p99", ms(percentile(ttft["direct"], 99)),
             ms(percentile(ttft["path"], 99)),
             ms(percentile(ttft["path"], 99) - percentile(ttft["direct"], 99)), ""),
            (f"tokens/s at {options.rate} tokens/s", f"{speed['direct']:.1f}",
             f"{speed['path']:.1f}", f"{loss:.2%} lost", "< 2% lost")]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(table(rows))


if __name__ == "__main__":
    main()
