"""OpenWhisk's activations API, over the journal, with the server's key:

    GET /api/v1/namespaces/{ns}/activations                ?name&limit&skip&since&upto&docs
    GET /api/v1/namespaces/{ns}/activations/{id}           the record
    GET /api/v1/namespaces/{ns}/activations/{id}/logs      {"logs": [...]}
    GET /api/v1/namespaces/{ns}/activations/{id}/result    the response: status and result

and the page's own trace route, `/_streamwhisk/activations/{id}?key=...`, which opens one
record to whoever holds the key its answer carried (`x-streamwhisk-trace`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..activations.journal import Journal
from ..activations.recorder import Recorder
from ..errors import RequestError
from ..hosting.primitives import answering
from . import NOT_FOUND

MAX_LIMIT = 200  # OpenWhisk's
DEFAULT_LIMIT = 30


class ActivationsApi:
    def __init__(self, recorder: Recorder, admit: Callable[[Request], object],
                 page_origin: Callable[[Request], object]) -> None:
        self.recorder = recorder
        self.journal: Journal = recorder.journal
        self._admit = admit  # the REST API's key, origin and namespace rules
        self._page_origin = page_origin  # the page's: its own origin only

    def routes(self, page: str) -> list[Route]:
        base = "/api/v1/namespaces/{namespace}/activations"
        return [Route(base, self.list, methods=["GET"]),
                Route(base + "/{id}", self.one, methods=["GET"]),
                Route(base + "/{id}/{part}", self.one, methods=["GET"]),
                Route(f"{page}/activations/{{id}}", self.for_page, methods=["GET"])]

    @answering
    async def list(self, request: Request) -> Response:
        self._admit(request)
        query = request.query_params
        limit = _number(query, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        if limit > MAX_LIMIT:
            raise RequestError(f"The value '{limit}' is not in the range of 0 to "
                               f"{MAX_LIMIT} for parameter 'limit'.", 400)
        found = await run_in_threadpool(
            self.journal.recent, query.get("name") or None, limit,
            _number(query, "skip", 0) or 0, _number(query, "since", None),
            _number(query, "upto", None), query.get("docs") == "true")
        return JSONResponse(found)

    @answering
    async def one(self, request: Request) -> Response:
        self._admit(request)
        record = await self._record(request.path_params["id"])
        part = request.path_params.get("part")
        if part == "logs":
            return JSONResponse({"logs": record["logs"]})
        if part == "result":
            return JSONResponse(record["response"])
        if part is not None:
            raise RequestError(NOT_FOUND, 404)
        return JSONResponse(record)

    @answering
    async def for_page(self, request: Request) -> Response:
        """One record, to the page that holds its key (and to nothing else)."""
        self._page_origin(request)
        activation_id = request.path_params["id"]
        if not self.recorder.opens(activation_id, request.query_params.get("key", "")):
            raise RequestError(NOT_FOUND, 404)  # as if it were not there
        record = await self._record(activation_id)
        return JSONResponse(record, headers={"Cache-Control": "no-store"})

    async def _record(self, activation_id: str) -> dict[str, Any]:
        record = await run_in_threadpool(self.journal.get, activation_id)
        if record is None:
            raise RequestError(NOT_FOUND, 404)
        return record


def _number(query: Any, name: str, default: int | None) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise RequestError(f"The value '{value}' of parameter '{name}' is not an integer.",
                           400) from None
    if number < 0:
        raise RequestError(f"The value '{value}' of parameter '{name}' is negative.", 400)
    return number
