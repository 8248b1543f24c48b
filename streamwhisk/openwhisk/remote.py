"""`streamwhisk streamer`: the streamer alone, in front of a real OpenWhisk.

For each request to `/web/{ns}/{pkg}/{action}` it opens a relay port, invokes that web action
on the cluster (`POST {apihost}/api/v1/web/{ns}/{pkg}/{action}.json`, the request's arguments
plus STREAM_HOST and STREAM_PORT, as OpenServerless's own streamer does) without waiting for
it, and relays what the action sends exactly as `streamwhisk up` does: NDJSON or SSE, one
complete message per line, `done` last with the action's result (the `.json` answer), nothing
lost, the client's going away closing the action's connection. It keeps no state between
requests: several can run behind a load balancer, each telling actions its own address.

Which connection is the invocation's: a cluster's action cannot announce its connection (no
streamwhisk runs beside it), so each invocation gets a relay port of its own, picked by the
OS, and the first connection to it is the invocation's; any later one is reset, and the port
closes when the stream ends. That keeps two invocations' streams apart and refuses a second
writer, but not a stranger who connects to the fresh port before the action does: bind the
relays (`--stream-bind`) to an address only the cluster's action containers reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ActionCrashed, ClusterError, StreamwhiskError
from ..hosting.primitives import UNEXPECTED, error_response, read_json_object, status_of
from ..stream import StreamSession, StreamSettings
from ..stream.schema import RESERVED_ARGUMENTS
from .client import AsyncClient
from .streamer import RelayResponse
from .webrequest import parse_target

log = logging.getLogger("streamwhisk.streamer")
INVOKE_TIMEOUT_S = 3600.0  # OpenWhisk's longest action time limit
BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class RemoteSettings:
    apihost: str
    auth: str = ""  # sent as basic credentials, when set
    stream: StreamSettings = field(default_factory=StreamSettings)


@dataclass
class RemoteActivation:
    """A web action invoked on the cluster: its result, once the call answers."""

    result: asyncio.Future[dict[str, Any]]
    task: asyncio.Task[None]


class RemoteStreamer:
    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self._client = AsyncClient(settings.apihost, settings.auth, require_key=False,
                                   timeout_s=INVOKE_TIMEOUT_S)

    async def stream(self, request: Request) -> Response | RelayResponse:
        try:
            target = parse_target(request.path_params["path"])
            args = await _arguments(request)

            async def start(relay: dict[str, str], _: object) -> RemoteActivation:
                return self._invoke(f"{target.namespace}/{target.name}.json",
                                    {**args, **relay})

            session = await StreamSession.open(start, self.settings.stream, first_comer=True)
        except (StreamwhiskError, OSError) as exc:
            return error_response(str(exc), status_of(exc) or 502)
        return RelayResponse(session, request.headers.get("accept", ""))

    def _invoke(self, path: str, body: dict[str, Any]) -> RemoteActivation:
        result: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        async def call() -> None:
            try:
                value = await self._client.web(path, body)
            except ClusterError as exc:  # not the action's answer: it did not run, or crashed
                if not result.done():
                    result.set_exception(ActionCrashed(exc.reason))
                return
            if not result.done():  # its result, or the application's own error
                result.set_result(value if isinstance(value, dict) else {"body": value})

        return RemoteActivation(result, asyncio.get_running_loop().create_task(call()))

    async def close(self) -> None:
        await self._client.aclose()


async def _arguments(request: Request) -> dict[str, Any]:
    """The query, and a JSON object body over it, as a web action receives them."""
    args: dict[str, Any] = dict(request.query_params)
    args.update(await read_json_object(request, BODY_LIMIT))
    for reserved in RESERVED_ARGUMENTS:
        args.pop(reserved, None)  # only the relay's own
    return args


def create_remote_app(settings: RemoteSettings) -> Starlette:
    streamer = RemoteStreamer(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await streamer.close()

    routes = [Route("/web/{path:path}", streamer.stream, methods=["GET", "POST"])]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=UNEXPECTED)
