"""The HTTP primitives every route group uses, written once: a body read within a limit, a JSON
object read from it, and the `{"error": ...}` answer, including the one a domain error
(`errors.py`) calls for: errors are translated to HTTP here, at the edge, never raised with
status codes by the layers below."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ..errors import (
    ActionNotFound,
    DeployConflict,
    DeployRefused,
    InvalidName,
    NotDeployed,
    RequestError,
    RuntimeFailure,
    ServiceUnavailable,
    StreamwhiskError,
    TooLargeToDeploy,
)
from ..jsonbody import MalformedJSON, parse_json

log = logging.getLogger("streamwhisk.http")

GONE = "The client went away while sending its request."
NOT_AN_OBJECT = "The request content must be a JSON object."
# a domain error's status, the most specific first
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ActionNotFound, 404), (NotDeployed, 404), (DeployConflict, 409),
    (TooLargeToDeploy, 413), (DeployRefused, 400), (InvalidName, 400),
    (ServiceUnavailable, 503),
    # an activation that failed: the developer's error, as OpenWhisk answers it
    (RuntimeFailure, 502))


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or RequestError 413 past `limit` bytes (499 when the client left)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(_too_large(int(declared), limit), 413)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(_too_large(size, limit), 413)
            chunks.append(chunk)
    except ClientDisconnect:  # nobody to answer: a quiet end, not a traceback
        raise RequestError(GONE, 499) from None
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int, in_thread: bool = False
                           ) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); RequestError 400 when it is not one.
    `in_thread`: parse off the event loop (a body of megabytes)."""
    body = await read_body(request, limit)
    if not body:
        return {}
    try:
        parsed = await run_in_threadpool(parse_json, body) if in_thread else parse_json(body)
    except MalformedJSON as exc:
        raise RequestError(str(exc), 400) from exc
    if not isinstance(parsed, dict):
        raise RequestError(NOT_AN_OBJECT, 400)
    return parsed


def _too_large(size: int, limit: int) -> str:
    return f"The request content was {size} bytes or more, over the {limit}-byte limit."


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Every app's last word on an exception no route answered (a bug, a broken disk): a 500
    in the `{"error"}` shape OpenWhisk's clients and Ollama's read, naming only the
    exception's type (its text may hold anything); Starlette then raises it again, so the
    server's log has it once, with its traceback."""
    return error_response(f"The server could not handle this request ({type(exc).__name__}); "
                          "its log has the details.", 500)


UNEXPECTED: dict[Any, Any] = {Exception: unexpected_error}  # Starlette's exception_handlers


def error_response(message: str, status: int, activation_id: str | None = None,
                   retry_after: int | None = None) -> JSONResponse:
    content: dict[str, Any] = {"error": message}
    if activation_id:
        content["code"] = activation_id
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(content, status_code=status, headers=headers)


def status_of(exc: Exception) -> int | None:
    """The HTTP status of a domain error; None for an error that is no one's but ours."""
    if isinstance(exc, RequestError):
        return exc.status_code
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), None)


def failure_response(exc: Exception, activation_id: str | None = None) -> JSONResponse:
    """The answer an error calls for: a request's own status, a runtime failure's (with
    Retry-After when waiting is the remedy), a domain error's, else 500 (and a log line)."""
    if isinstance(exc, RuntimeFailure) and exc.retry_after is not None:
        return error_response(str(exc), 503, retry_after=exc.retry_after)
    if isinstance(exc, RequestError):
        return error_response(str(exc), exc.status_code, activation_id)
    status = status_of(exc)
    if status is None:
        log.error("%s", exc)
        status = 500
    return error_response(str(exc), status, activation_id)


Routes = TypeVar("Routes")
Handler = Callable[[Routes, Request], Awaitable[Response]]


def answering(handler: Handler[Routes]) -> Handler[Routes]:
    """A route method whose refusals and errors (a StreamwhiskError) are answered in the
    `{"error"}` shape with their status, instead of reaching the app's last word (a 500)."""
    @functools.wraps(handler)
    async def answer(routes: Routes, request: Request) -> Response:
        try:
            return await handler(routes, request)
        except StreamwhiskError as exc:
            return failure_response(exc)

    return answer
