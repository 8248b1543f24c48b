"""The one ASGI app `streamwhisk up` serves: the chat page, web actions, the streamer, REST."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import ActionNotFound, RequestError, StreamwhiskError
from .hosting.origins import OriginPolicy, OwnHostOnly
from .openwhisk.rest import RestApi
from .openwhisk.store import DeployedStore
from .openwhisk.streamer import RelayResponse
from .openwhisk.webactions import (
    NOT_FOUND,
    WebTarget,
    check_web_secure,
    failure_response,
    parse_target,
    relayed_elsewhere,
    request_args,
    result_response,
)
from .page import page_routes
from .project import ActionSpec, Project
from .redact import RedactingFilter, Redactor
from .runtime import Invoker, InvokerSettings
from .stream import StreamSession, StreamSettings

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# OpenWhisk's web-action CORS: `--cors ORIGIN` answers with these; an action annotated
# web-custom-options true answers OPTIONS (and its CORS) itself, as on OpenWhisk
OPENWHISK_CORS = {
    "Access-Control-Allow-Methods": "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH",
    "Access-Control-Allow-Headers": "Authorization, Origin, X-Requested-With, Content-Type, "
                                    "Accept, User-Agent",
}
REFUSAL = ("A page of another origin ({origin}) may not run actions here; start the server "
           "with --cors ORIGIN to let it, or annotate the action web-custom-options true to "
           "let it decide.")
OPENWHISK_BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    invoker: InvokerSettings = field(default_factory=InvokerSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    body_limit: int = OPENWHISK_BODY_LIMIT
    # the Host names the server answers to (host:port); empty: any
    hosts: tuple[str, ...] = ()
    # the origins whose pages may call web actions (OpenWhisk's CORS), or "*"; empty: none
    cors: tuple[str, ...] = ()
    # where deployed actions are kept; None: the data folder's deployed/
    store_dir: Path | None = None


class Server:
    """The state behind the routes: the project, its invoker and the settings."""

    def __init__(self, project: Project, settings: ServerSettings) -> None:
        self.project = project
        self.settings = settings
        self.store = DeployedStore(settings.invoker.namespace, settings.store_dir)
        self.origins = OriginPolicy(settings.hosts, settings.cors, OPENWHISK_CORS, REFUSAL)
        self.streams: set[StreamSession] = set()  # in flight, for Ctrl-C to end
        self.invoker = Invoker(project, settings.invoker, store=self.store)

    def web_spec(self, target: WebTarget, request: Request) -> ActionSpec:
        if target.namespace not in ("_", self.settings.invoker.namespace):
            raise RequestError(NOT_FOUND, 404)
        try:
            spec = self.invoker.spec(target.name)
        except ActionNotFound as exc:
            raise RequestError(NOT_FOUND, 404) from exc
        if not spec.annotations.web:
            raise RequestError(NOT_FOUND, 404)
        check_web_secure(spec, request, self.settings.invoker.api_key)
        return spec

    async def web_action(self, request: Request, namespace: str | None = None) -> Response:
        activation_id = None
        try:
            target = parse_target(request.path_params["path"], namespace)
            spec = self.web_spec(target, request)
            custom = spec.annotations.annotations.get("web-custom-options") is True
            if request.method == "OPTIONS" and not custom:
                return self._preflight(request)  # the server's to answer, never the action's
            cors = self.origins.admit(request, custom)
            args = await request_args(request, spec, target, self.settings.body_limit)
            stream = relayed_elsewhere(request, args, self.settings.invoker.api_key)
            activation = await self.invoker.start(spec, args, stream)
            activation_id = activation.activation_id
            response = result_response(await activation.result, target)
            response.headers.update(cors)
            return response
        except StreamwhiskError as exc:
            return failure_response(exc, activation_id)

    def _preflight(self, request: Request) -> Response:
        headers = self.origins.preflight(request)
        return Response(status_code=200 if headers else 204, headers=headers)

    async def stream_action(self, request: Request) -> Response | RelayResponse:
        """`/web/{ns}/{pkg}/{action}`: invoke with STREAM_HOST/STREAM_PORT, relay the stream."""
        try:
            target = parse_target(request.path_params["path"])
            spec = self.web_spec(target, request)
            if request.method == "OPTIONS":
                return self._preflight(request)
            cors = self.origins.admit(request)
            args = await request_args(request, spec, target, self.settings.body_limit)
            session = await StreamSession.open(
                lambda relay, announced: self.invoker.start(spec, args, relay, announced),
                self.settings.stream, redact=self.invoker.redact,
            )
        except StreamwhiskError as exc:
            return failure_response(exc)
        self.streams.add(session)
        return RelayResponse(session, request.headers.get("accept", ""), cors,
                             on_end=lambda: self.streams.discard(session))

    def web_actions(self) -> list[str]:
        """The names of the actions a browser may call (project and deployed)."""
        names = []
        for name in self.invoker.action_names():
            with contextlib.suppress(StreamwhiskError):  # an action that cannot load says so
                if self.invoker.spec(name).annotations.web:
                    names.append(name)
        return names

    def preparations(self) -> list[dict[str, Any]]:
        return [p.as_json() for p in self.invoker.runtimes.preparations()]

    def close_streams(self) -> None:
        """End every stream in flight: the server is stopping."""
        for session in list(self.streams):
            session.close()

    async def web_default_namespace(self, request: Request) -> Response:
        return await self.web_action(request, self.settings.invoker.namespace)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        mask_secrets_in_logs(self.invoker.redact)
        self.invoker.prepare_runtimes()  # in the background: the server answers at once
        # What exists now lives as long as the server: keep the collector from walking it
        # again and again (each full collection paused every stream for milliseconds).
        gc.freeze()
        try:
            yield
        finally:
            await self.invoker.close()


def mask_secrets_in_logs(redact: Redactor) -> None:
    """Every log line the server writes, uvicorn's included, with secrets masked."""
    masking = RedactingFilter(redact)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(masking)


def create_app(project: Project, settings: ServerSettings | None = None) -> Starlette:
    server = Server(project, settings or ServerSettings())
    rest = RestApi(server)
    routes = [
        Route("/api/v1/web/{path:path}", server.web_action, methods=METHODS),
        Route("/api/my/{path:path}", server.web_default_namespace, methods=METHODS),
        Route("/web/{path:path}", server.stream_action, methods=["GET", "POST", "OPTIONS"]),
        Route("/api/v1/namespaces/{namespace}/actions", rest.actions, methods=["GET"]),
        Route("/api/v1/namespaces/{namespace}/actions/{name:path}", rest.action,
              methods=["GET", "POST"]),
        Route("/api/v1/namespaces/{namespace}/actions/{name:path}", rest.change_action,
              methods=["PUT", "DELETE"]),
        Route("/api/v1/namespaces/{namespace}/packages", rest.packages, methods=["GET"]),
        Route("/api/v1/namespaces/{namespace}/packages/{package}", rest.package,
              methods=["GET", "PUT", "DELETE"]),
        Route("/api/v1/namespaces", rest.namespaces, methods=["GET"]),
        *page_routes(server),
    ]
    app = Starlette(routes=routes, lifespan=server.lifespan,
                    middleware=[Middleware(OwnHostOnly, hosts=server.settings.hosts)])
    app.state.server = server
    app.state.close_streams = server.close_streams
    return app
