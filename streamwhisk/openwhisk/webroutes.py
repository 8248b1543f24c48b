"""The routes that run web actions: `/api/v1/web/{ns}/{pkg}/{action}`, its default-namespace
alias `/api/my/{pkg}/{action}`, and the streamer `/web/{ns}/{pkg}/{action}` (invoke with
STREAM_HOST/STREAM_PORT, relay the stream). They are given what they use, never the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..activations.recorder import (
    ACTIVATION_HEADER,
    PREVIOUS_HEADER,
    REPLAY_HEADER,
    TRACE_HEADER,
    follow_stream,
)
from ..errors import ActionNotFound, RequestError, StreamwhiskError
from ..hosting.origins import OriginPolicy
from ..hosting.primitives import failure_response
from ..project import ActionSpec
from ..runtime.activation import Activation
from ..stream import StreamSession, StreamSettings
from . import NOT_FOUND
from .streamer import RelayResponse
from .webrequest import WebTarget, check_web_secure, parse_target, relayed_elsewhere, request_args
from .webresponse import result_response

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Runner(Protocol):
    """What runs the actions (`runtime.Invoker` is one)."""

    def spec(self, name: str) -> ActionSpec: ...

    async def start(self, spec: ActionSpec, args: dict[str, Any],
                    stream: dict[str, str] | None = None,
                    on_stream_from: Callable[[int], None] | None = None, *,
                    streamed: bool = False, replay_of: str | None = None,
                    previous: str | None = None) -> Activation: ...


class TraceKeys(Protocol):
    """What opens one activation's trace to the page that ran it (`activations.Recorder`)."""

    def token(self, activation_id: str) -> str: ...


def recorded_as(request: Request) -> tuple[str | None, str | None]:
    """What a caller says of the activation it asks for: the one it replays, and the
    conversation's turn before (the page's trace links them)."""
    return request.headers.get(REPLAY_HEADER), request.headers.get(PREVIOUS_HEADER)


@dataclass(frozen=True)
class WebSettings:
    namespace: str
    api_key: str  # `#--web-secure true`, and a remote streamer's STREAM_HOST, need it
    body_limit: int
    stream: StreamSettings


class WebActions:
    def __init__(self, runner: Runner, origins: OriginPolicy, settings: WebSettings,
                 redact: Callable[[str], str], traces: TraceKeys | None = None) -> None:
        self.runner = runner
        self.traces = traces
        self.origins = origins
        self.settings = settings
        self._redact = redact
        self.streams: set[StreamSession] = set()  # in flight, for a stop to end

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/web/{path:path}", self.web_action, methods=METHODS),
            Route("/api/my/{path:path}", self.web_default_namespace, methods=METHODS),
            *self.stream_routes(),
        ]

    def stream_routes(self) -> list[Route]:
        """The streamer's own: what `stream.<host>` answers."""
        return [Route("/web/{path:path}", self.stream_action, methods=["GET", "POST", "OPTIONS"])]

    async def web_action(self, request: Request, namespace: str | None = None) -> Response:
        activation: Activation | None = None
        try:
            target = parse_target(request.path_params["path"], namespace)
            spec = self._spec(target, request)
            custom = spec.annotations.annotations.get("web-custom-options") is True
            if request.method == "OPTIONS" and not custom:
                return self._preflight(request)  # the server's to answer, never the action's
            cors = self.origins.admit(request, trusted=custom)
            args = await request_args(request, spec, target, self.settings.body_limit)
            stream = relayed_elsewhere(request, args, self.settings.api_key)
            replay_of, previous = recorded_as(request)
            activation = await self.runner.start(spec, args, stream, replay_of=replay_of,
                                                 previous=previous)
            response = result_response(await activation.result, target)
            response.headers.update({**cors, **self._about(activation)})
            return response
        except StreamwhiskError as exc:
            if activation is None:
                return failure_response(exc)
            failed = failure_response(exc, activation.activation_id)
            failed.headers.update(self._about(activation))
            return failed

    async def web_default_namespace(self, request: Request) -> Response:
        return await self.web_action(request, self.settings.namespace)

    async def stream_action(self, request: Request) -> Response | RelayResponse:
        """Invoke with STREAM_HOST/STREAM_PORT, relay what the action sends."""
        try:
            target = parse_target(request.path_params["path"])
            spec = self._spec(target, request)
            if request.method == "OPTIONS":
                return self._preflight(request)
            cors = self.origins.admit(request)
            args = await request_args(request, spec, target, self.settings.body_limit)
            replay_of, previous = recorded_as(request)
            session = await StreamSession.open(
                lambda relay, announced: self.runner.start(
                    spec, args, relay, announced, streamed=True, replay_of=replay_of,
                    previous=previous),
                self.settings.stream, redact=self._redact,
            )
        except StreamwhiskError as exc:
            return failure_response(exc)
        follow_stream(session)
        activation = session.activation
        assert isinstance(activation, Activation)
        self.streams.add(session)
        return RelayResponse(session, request.headers.get("accept", ""),
                             {**cors, **self._about(activation)},
                             on_end=lambda: self.streams.discard(session))

    def _about(self, activation: Activation) -> dict[str, str]:
        """The headers that name the activation, and open its trace to its caller."""
        about = {ACTIVATION_HEADER: activation.activation_id}
        if self.traces is not None and activation.captured is not None:
            about[TRACE_HEADER] = self.traces.token(activation.activation_id)
        return about

    def close_streams(self) -> None:
        """End every stream in flight: the server is stopping."""
        for session in list(self.streams):
            session.close()

    def _spec(self, target: WebTarget, request: Request) -> ActionSpec:
        if target.namespace not in ("_", self.settings.namespace):
            raise RequestError(NOT_FOUND, 404)
        try:
            spec = self.runner.spec(target.name)
        except ActionNotFound as exc:
            raise RequestError(NOT_FOUND, 404) from exc
        if not spec.annotations.web:
            raise RequestError(NOT_FOUND, 404)
        check_web_secure(spec, request, self.settings.api_key)
        return spec

    def _preflight(self, request: Request) -> Response:
        headers = self.origins.preflight(request)
        return Response(status_code=200 if headers else 204, headers=headers)
