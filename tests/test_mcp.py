"""A package's `mcp:*` actions as an MCP server, tried with the official SDK's own client: over
stdio (as a desktop client launches `streamwhisk mcp`) and over Streamable HTTP on `up`; the
key and Origin rules; an edit seen and announced; calls recorded as activations; the client
configuration `mcp install` writes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from support import copy_project, run_async, run_streamwhisk

from streamwhisk.testing import RunningServer, serve, wait_until

AUTH = "3f9d2b7c-mcp-tests:key-of-the-mcp-tests"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project("mcp_project", tmp_path_factory.mktemp("mcp"))


@pytest.fixture(scope="module")
def env(project: Path) -> dict[str, str]:
    return {**os.environ, "STREAMWHISK_DATA_DIR": str(project.parent / "data")}


@pytest.fixture(scope="module")
def up(project: Path, env: dict[str, str]) -> Iterator[RunningServer]:
    with serve(project, "--api-key", AUTH, log_path=project.parent / "up.log",
               env={"STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"]}) as running:
        yield running


def over_stdio(project: Path, env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, env=env, args=[
        "-m", "streamwhisk", "mcp", "agent", "--project", str(project), "--services", "none",
        "--dev-ollama", "never"])


def over_http(up: RunningServer, key: str = AUTH) -> Any:
    return streamable_http_client(f"{up.url}/mcp/agent", http_client=httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {key}"}, timeout=60))


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def everything(server: Any) -> dict[str, Any]:
    """What a client sees of the fixture package: each kind, listed and used."""
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        defaults = await client.call_tool("search", {"query": "llm"})
        given = await client.call_tool("search", {"query": "mcp", "num_results": 2,
                                                  "search_by_date": True})
        missing = await client.call_tool("search", {})
        failed = await client.call_tool("fails", {})
        templates = (await client.list_resource_templates()).resource_templates
        greeting = await client.read_resource("greet://Ann")
        prompts = (await client.list_prompts()).prompts
        prompt = await client.get_prompt("story", {"topic": "a lighthouse"})
        try:
            await client.get_prompt("nothere", {})
            unknown = ""
        except MCPError as exc:
            unknown = exc.message
    return locals()


def check(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == {"search", "fails"}  # helper has no mcp:type
    search = seen["tools"]["search"]
    assert search.description == "Search stories from the fixture's news."
    assert search.input_schema == {
        "type": "object", "required": ["query"], "properties": {
            "query": {"type": "string", "description": "search terms to find in stories"},
            "num_results": {"type": "integer", "default": 10,
                            "description": "number of results to return (default=10)"},
            "search_by_date": {"type": "boolean", "default": False,
                               "description": "if True, sorts by date (default=False)"}}}
    assert seen["defaults"].structured_content["num_results"] == 10
    assert seen["defaults"].structured_content["by_date"] is False
    assert json.loads(text_of(seen["defaults"]))["query"] == "llm"
    assert seen["given"].structured_content == {"query": "mcp", "num_results": 2,
                                                "by_date": True, "hits": ["mcp 0", "mcp 1"]}
    assert seen["missing"].is_error and "'query' is required" in text_of(seen["missing"])
    assert seen["failed"].is_error and "no luck" in text_of(seen["failed"])
    assert [t.uri_template for t in seen["templates"]] == ["greet://{input}"]
    assert seen["greeting"].contents[0].text == "Hello, Ann!"
    assert [p.name for p in seen["prompts"]] == ["story"]
    assert seen["prompts"][0].arguments[0].required is True
    assert seen["prompt"].messages[0].content.text == "Write a short story about a lighthouse."
    assert "no prompt 'nothere'" in seen["unknown"]


def test_a_client_over_stdio_lists_calls_reads_and_gets(project: Path,
                                                        env: dict[str, str]) -> None:
    check(run_async(everything(over_stdio(project, env))))


def test_a_client_over_http_on_up_does_the_same(up: RunningServer) -> None:
    check(run_async(everything(over_http(up))))


def test_http_needs_the_key_and_refuses_other_origins(up: RunningServer) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert httpx.post(f"{up.url}/mcp/agent", json=ping).status_code == 401
    wrong = {"Authorization": "Bearer 3f9d2b7c-mcp-tests:not-the-key"}
    assert httpx.post(f"{up.url}/mcp/agent", json=ping, headers=wrong).status_code == 401
    foreign = {"Authorization": f"Bearer {AUTH}", "Origin": "https://evil.example"}
    assert httpx.post(f"{up.url}/mcp/agent", json=ping, headers=foreign).status_code == 403
    missing = httpx.post(f"{up.url}/mcp/nothere", json=ping,
                         headers={"Authorization": f"Bearer {AUTH}"})
    assert missing.status_code == 404 and "mcp:type" in missing.json()["error"]


def test_a_tool_call_is_an_activation_like_any_other(up: RunningServer) -> None:
    async def call() -> None:
        async with Client(over_http(up)) as client:
            await client.call_tool("search", {"query": "recorded"})

    run_async(call())

    def recorded() -> bool:
        found = httpx.get(f"{up.url}/api/v1/namespaces/_/activations",
                          auth=tuple(AUTH.split(":")),
                          params={"name": "agent/search", "docs": "true", "limit": 5}).json()
        return any(r["trace"]["args"].get("query") == "recorded" for r in found)

    assert wait_until(recorded, timeout=10)


def test_an_edit_is_seen_by_the_next_list_and_announced(tmp_path: Path,
                                                        env: dict[str, str]) -> None:
    project = copy_project("mcp_project", tmp_path)
    action = project / "packages" / "agent" / "search.py"
    heard: list[str] = []

    async def listen(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.append(message.method)

    async def edit_and_list() -> str | None:
        async with Client(over_stdio(project, env), mode="legacy",
                          message_handler=listen) as client:
            await client.list_tools()
            action.write_text(action.read_text().replace(
                "Search stories from the fixture's news.", "Search the edited news."))
            for _ in range(100):  # the watcher looks every second
                if heard:
                    break
                await asyncio_sleep(0.1)
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            return tools["search"].description

    assert run_async(edit_and_list()) == "Search the edited news."
    assert heard == ["notifications/tools/list_changed"]


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_install_writes_the_clients_config_and_keeps_its_other_servers(
        tmp_path: Path, project: Path, env: dict[str, str]) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"mcpServers": {"other": {"command": "other"}},
                                  "theme": "dark"}))
    done = run_streamwhisk("mcp", "install", "agent", "--claude", "--project", str(project),
                           env={**env, "HOME": str(home)})
    assert done.returncode == 0, done.stderr
    written = json.loads(config.read_text())
    assert written["theme"] == "dark" and written["mcpServers"]["other"] == {"command": "other"}
    assert written["mcpServers"]["agent"] == {
        "command": sys.executable,
        "args": ["-m", "streamwhisk", "mcp", "agent", "--project", str(project.resolve())]}
    printed = run_streamwhisk("mcp", "install", "agent", "--print", "--name", "news",
                              "--project", str(project), env=env)
    assert json.loads(printed.stdout)["mcpServers"]["news"]["args"][2:4] == ["mcp", "agent"]
