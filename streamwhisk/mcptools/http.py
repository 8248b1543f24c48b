"""Each package's MCP server over Streamable HTTP at `/mcp/{package}` while `up` runs: the SDK's
session manager behind the run's key (`Authorization: Bearer AUTH`, or HTTP basic as the REST
API takes it) and the Origin rule the MCP specification asks of a local server (a page of
another origin is refused, as on every action route; the Host rule is the server's own).

A package's manager starts on its first request, in a task of its own (the SDK's task group
is entered and left in one task), with the watcher that tells its clients of changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..basicauth import matches
from ..errors import RequestError
from ..hosting.origins import OriginPolicy
from ..hosting.primitives import error_response
from ..names import check_entity_name

if TYPE_CHECKING:  # the SDK is imported on the first MCP request, not when `up` starts
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    from .server import PackageTools, Runner

UNAUTHORIZED = ("An MCP client of this server sends its key: Authorization: Bearer AUTH (the "
                "REST API's key), or AUTH as HTTP basic credentials.")
NO_TOOLS = "The package {package} has no action with an mcp:type annotation."


class McpOverHttp:
    def __init__(self, runner: Runner, origins: OriginPolicy, api_key: str,
                 version: str = "") -> None:
        self.runner = runner
        self.origins = origins
        self.api_key = api_key
        self.version = version
        self._managers: dict[str, asyncio.Future[StreamableHTTPSessionManager]] = {}
        self._hosts: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def routes(self) -> list[Route]:
        return [Route("/mcp/{package}", self, methods=["GET", "POST", "DELETE"])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            self.origins.admit(request)
            self._check_key(request.headers.get("authorization", ""))
            package = check_entity_name(request.path_params["package"], "package")
            manager = await self._manager(package)
        except RequestError as exc:
            await error_response(str(exc), exc.status_code)(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)

    def _check_key(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and self.api_key and hmac.compare_digest(
                token.strip().encode(), self.api_key.encode()):
            return
        if not matches(authorization, self.api_key):
            raise RequestError(UNAUTHORIZED, 401)

    async def _manager(self, package: str) -> StreamableHTTPSessionManager:
        started = self._managers.get(package)
        if started is None:
            from .server import PackageTools

            tools = PackageTools(package, self.runner, self.version)
            if not tools.entries():
                raise RequestError(NO_TOOLS.format(package=package), 404)
            started = self._managers[package] = asyncio.get_running_loop().create_future()
            self._hosts.append(asyncio.get_running_loop().create_task(
                self._host(tools, started)))
        return await asyncio.shield(started)

    async def _host(self, tools: PackageTools,
                    started: asyncio.Future[StreamableHTTPSessionManager]) -> None:
        """The package's session manager and watcher, until the server stops."""
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        # Host and Origin are the server's to check (its own names, its own pages)
        manager = StreamableHTTPSessionManager(app=tools.server, security_settings=(
            TransportSecuritySettings(enable_dns_rebinding_protection=False)))
        watcher = asyncio.get_running_loop().create_task(tools.watch())
        try:
            async with manager.run():
                started.set_result(manager)
                await self._stopping.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def close(self) -> None:
        self._stopping.set()
        for host in self._hosts:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(host, 5)

