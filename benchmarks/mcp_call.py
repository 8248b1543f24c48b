"""What an MCP `tools/call` adds to the same action's warm invoke: one `streamwhisk up`, a trivial
action annotated `mcp:type tool`, called in turn through the REST API (a blocking invoke for
its result) and through `/mcp/tools` (Streamable HTTP, one session), with the same client
(httpx, keep-alive), so what the client costs falls on both alike.

    make bench        (or: .venv/bin/python benchmarks/mcp_call.py [--rounds N])

Target: the tools/call p50 within 2 ms of the invoke's.
"""

from __future__ import annotations

import argparse
import json
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
KEY = "0c4e5a6b-bench-mcp:key-of-the-mcp-benchmark"
TOOL = "#-a mcp:type tool\n#-a mcp:desc 'Answers at once'\ndef main(args):\n    return {'ok': 1}\n"
ACCEPT = "application/json, text/event-stream"
VERSION = "2025-06-18"


def answer_of(response: httpx.Response) -> dict[str, object]:
    """The JSON-RPC answer: the body, or the `data:` of its one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines()
                if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


def session(client: httpx.Client) -> dict[str, str]:
    """An MCP session's headers, after the handshake."""
    started = client.post("/mcp/tools", headers={"accept": ACCEPT}, json={
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": VERSION, "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}})
    assert started.status_code == 200, started.text
    headers = {"accept": ACCEPT, "mcp-session-id": started.headers["mcp-session-id"],
               "mcp-protocol-version": VERSION}
    client.post("/mcp/tools", headers=headers,
                json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return headers


def timed(call: object, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100, help="per round and way")
    options = parser.parse_args()
    invoked: list[float] = []
    called: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(shutil.copytree(PROJECT, Path(scratch) / "project"))
        (project / "packages" / "tools").mkdir()
        (project / "packages" / "tools" / "noop.py").write_text(TOOL)
        with serve(project, "--log-level", "warning", "--api-key", KEY,
                   log_path=Path(scratch) / "log",
                   env={"STREAMWHISK_DATA_DIR": str(Path(scratch) / "data")}) as server, \
                httpx.Client(base_url=server.url, auth=tuple(KEY.split(":")),
                             timeout=30) as client:
            headers = session(client)
            ids = iter(range(1, 10**9))

            def invoke() -> None:
                answer = client.post("/api/v1/namespaces/_/actions/tools/noop",
                                     params={"blocking": "true", "result": "true"}, json={})
                assert answer.json() == {"ok": 1}, answer.text

            def call_tool() -> None:
                answer = answer_of(client.post("/mcp/tools", headers=headers, json={
                    "jsonrpc": "2.0", "id": next(ids), "method": "tools/call",
                    "params": {"name": "noop", "arguments": {}}}))
                assert answer["result"]["structuredContent"] == {"ok": 1}, answer  # type: ignore[index]

            timed(invoke, 20)
            timed(call_tool, 20)  # warm: the worker and the session
            for _ in range(options.rounds):  # in turn: a slow spell falls on both
                invoked += timed(invoke, options.calls)
                called += timed(call_tool, options.calls)
    invoke_p50, call_p50 = percentile(invoked, 50), percentile(called, 50)
    rows = [("measure (httpx client, keep-alive)", "p50", "p99", "target"),
            (f"REST invoke, blocking result (n={len(invoked)})", ms(invoke_p50),
             ms(percentile(invoked, 99)), ""),
            (f"MCP tools/call over HTTP (n={len(called)})", ms(call_p50),
             ms(percentile(called, 99)), ""),
            ("tools/call added", ms(call_p50 - invoke_p50), "", "<= 2 ms")]
    print(table(rows))


if __name__ == "__main__":
    main()
