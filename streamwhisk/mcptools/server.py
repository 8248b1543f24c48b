"""A package's MCP server, built on the official `mcp` SDK's low-level `Server`: its tools,
resources and prompts are the package's actions that carry `mcp:type` (`convention.py`),
read again at every list (an edit is seen by the next `tools/list`), and each call is an
activation like any other (recorded, its secrets masked). A watcher sends
`notifications/*/list_changed` to the clients connected when the package's actions change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Protocol
from urllib.parse import unquote

import mcp_types as types
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS

from ..errors import StreamwhiskError
from ..project import ActionSpec
from .convention import McpEntry, entry_of

log = logging.getLogger("streamwhisk.mcp")
WATCH_INTERVAL_S = 1.0
MAX_CLIENTS = 100


class Runner(Protocol):
    """What lists and runs the actions (`runtime.Invoker` is one)."""

    def action_names(self) -> list[str]: ...

    def spec(self, name: str) -> ActionSpec: ...

    async def invoke(self, spec: ActionSpec, args: dict[str, Any]) -> dict[str, Any]: ...


class PackageTools:
    """One package's actions as MCP tools, resources and prompts."""

    def __init__(self, package: str, runner: Runner, version: str = "") -> None:
        self.package = package
        self.runner = runner
        # the newest request's session of each client: what a change is announced through
        # (by the client's HTTP session id; over stdio there is one client)
        self._sessions: dict[str | None, Any] = {}
        self._seen: list[McpEntry] = []
        self.server: Server[Any] = Server(
            f"streamwhisk {package}", version=version,
            description=f"The actions of package {package} that carry mcp:type annotations",
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource, on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt)

    def initialization_options(self) -> InitializationOptions:
        return self.server.create_initialization_options(NotificationOptions(
            prompts_changed=True, resources_changed=True, tools_changed=True))

    # --- what the package offers, as it is on disk now ----------------------------------
    def entries(self) -> list[McpEntry]:
        found = []
        for name in self.runner.action_names():
            if name.split("/", 1)[0] != self.package:
                continue
            try:
                spec = self.runner.spec(name)
                entry = entry_of(spec.qualified, spec.annotations.annotations)
            except StreamwhiskError as exc:  # an action that does not load says why, once
                log.warning("mcp %s: %s is left out: %s", self.package, name, exc)
                continue
            if entry is not None:
                found.append(entry)
        return found

    def _of_kind(self, kind: str) -> list[McpEntry]:
        return [entry for entry in self.entries() if entry.kind == kind]

    def _named(self, kind: str, name: str) -> McpEntry:
        for entry in self._of_kind(kind):
            if entry.name == name:
                return entry
        raise _not_found(f"{self.package} has no {kind} {name!r}")

    # --- the handlers -------------------------------------------------------------------
    def _note(self, ctx: ServerRequestContext[Any]) -> None:
        request = ctx.request
        client = request.headers.get("mcp-session-id") if request is not None else None
        self._sessions.pop(client, None)
        self._sessions[client] = ctx.session
        while len(self._sessions) > MAX_CLIENTS:  # the oldest is likely gone
            self._sessions.pop(next(iter(self._sessions)))

    async def _list_tools(self, ctx: ServerRequestContext[Any], params: Any
                          ) -> types.ListToolsResult:
        self._note(ctx)
        return types.ListToolsResult(tools=[
            types.Tool(name=e.name, description=e.description, input_schema=e.input_schema())
            for e in self._of_kind("tool")])

    async def _call_tool(self, ctx: ServerRequestContext[Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        self._note(ctx)
        try:
            entry = self._named("tool", params.name)
            result = await self._run(entry, params.arguments)
        except StreamwhiskError as exc:  # it crashed, timed out, lacks an argument
            return _tool_error(str(exc))
        if "error" in result:  # the action's own error: the model reads it and may retry
            error = result["error"]
            return _tool_error(error if isinstance(error, str) else json.dumps(error))
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(result, ensure_ascii=False))],
            structured_content=result)

    async def _list_resources(self, ctx: ServerRequestContext[Any], params: Any
                              ) -> types.ListResourcesResult:
        self._note(ctx)
        return types.ListResourcesResult(resources=[
            types.Resource(name=e.name, uri=e.uri_template, description=e.description)
            for e in self._of_kind("resource") if not _variables(e.uri_template)])

    async def _list_resource_templates(self, ctx: ServerRequestContext[Any], params: Any
                                       ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[
            types.ResourceTemplate(name=e.name, uri_template=e.uri_template,
                                   description=e.description)
            for e in self._of_kind("resource") if _variables(e.uri_template)])

    async def _read_resource(self, ctx: ServerRequestContext[Any],
                             params: types.ReadResourceRequestParams
                             ) -> types.ReadResourceResult:
        uri = str(params.uri)
        for entry in self._of_kind("resource"):
            arguments = _match(entry.uri_template, uri)
            if arguments is not None:
                result = await self._run_or_fail(entry, arguments)
                return types.ReadResourceResult(contents=[types.TextResourceContents(
                    uri=uri, text=_output(result), mime_type="text/plain")])
        raise _not_found(f"{self.package} has no resource for {uri}")

    async def _list_prompts(self, ctx: ServerRequestContext[Any], params: Any
                            ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[
            types.Prompt(name=e.name, description=e.description, arguments=[
                types.PromptArgument(name=p.name, description=p.description,
                                     required=p.required) for p in e.parameters])
            for e in self._of_kind("prompt")])

    async def _get_prompt(self, ctx: ServerRequestContext[Any],
                          params: types.GetPromptRequestParams) -> types.GetPromptResult:
        entry = self._named("prompt", params.name)
        result = await self._run_or_fail(entry, dict(params.arguments or {}))
        return types.GetPromptResult(description=entry.description, messages=[
            types.PromptMessage(role="user", content=types.TextContent(text=_output(result)))])

    async def _run(self, entry: McpEntry, given: dict[str, Any] | None) -> dict[str, Any]:
        """The action's result, invoked as any activation is (blocking, non-streaming)."""
        return await self.runner.invoke(self.runner.spec(entry.action),
                                        entry.arguments(given))

    async def _run_or_fail(self, entry: McpEntry, given: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await self._run(entry, given)
        except StreamwhiskError as exc:
            raise _failed(str(exc)) from None
        if "error" in result:
            raise _failed(str(result["error"]))
        return result

    # --- the watcher ---------------------------------------------------------------------
    async def watch(self) -> None:
        """Until cancelled: tell the connected clients when the package's offer changes (an
        action's annotations, an action added or gone; not its code, which the next call
        runs anyway)."""
        self._seen = self.entries()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = self.entries()
            if now != self._seen:
                for client, session in list(self._sessions.items()):
                    try:
                        await session.send_tool_list_changed()
                        await session.send_resource_list_changed()
                        await session.send_prompt_list_changed()
                    except Exception:  # a client that has gone: no more news for it
                        self._sessions.pop(client, None)
            self._seen = now



def _not_found(message: str) -> MCPError:
    """The client named a tool, resource or prompt the package does not have."""
    return MCPError(INVALID_PARAMS, message)


def _failed(message: str) -> MCPError:
    """A resource's or a prompt's action failed, or answered its own error: its message."""
    return MCPError(INTERNAL_ERROR, message)


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _output(result: dict[str, Any]) -> str:
    """A resource's or a prompt's text: the action's `output`, else its whole result."""
    output = result.get("output")
    return output if isinstance(output, str) else json.dumps(
        result if output is None else output, ensure_ascii=False)


def _variables(template: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", template)


def _match(template: str, uri: str) -> dict[str, Any] | None:
    """The variables of `template` (RFC 6570 level 1) that `uri` gives, or None.

    >>> _match("greet://{input}", "greet://Ann")
    {'input': 'Ann'}
    >>> _match("greet://{input}", "other://Ann") is None
    True
    """
    pattern = "".join(f"(?P<{part[1:-1]}>[^/]+)" if re.fullmatch(r"\{\w+\}", part)
                      else re.escape(part) for part in re.split(r"(\{\w+\})", template))
    found = re.fullmatch(pattern, uri)
    return {key: unquote(value) for key, value in found.groupdict().items()} if found else None
