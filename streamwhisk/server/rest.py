"""A subset of OpenWhisk's REST API: list and get actions and packages, invoke an action.

    GET  /api/v1/namespaces/{ns}/actions                   actions, with their annotations
    GET  /api/v1/namespaces/{ns}/actions/{pkg}/{action}    one action; parameter values masked
    POST /api/v1/namespaces/{ns}/actions/{pkg}/{action}    invoke (?blocking=true&result=true)
    GET  /api/v1/namespaces/{ns}/packages                  packages

Requests authenticate with the server's API key as HTTP basic credentials, as with OpenWhisk;
actions annotated `provide-api-key true` receive it as __OW_API_KEY (mastrogpt/index does).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..basicauth import matches
from ..errors import ActionNotFound, RequestError, StreamwhiskError
from ..project import ActionSpec, split_action_name
from .webactions import NOT_FOUND, error_response, failure_response, read_body

if TYPE_CHECKING:
    from .app import Server

log = logging.getLogger("streamwhisk.server")

UNAUTHORIZED = "The supplied authentication is invalid."
MASKED = "********"


class RestApi:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._started_ms = int(time.time() * 1000)

    async def actions(self, request: Request) -> Response:
        refusal = self._refuse(request)
        if refusal:
            return refusal
        listed = []
        for name in self.server.project.action_names():
            try:
                listed.append(self._describe(self.server.invoker.spec(name), full=False))
            except StreamwhiskError as exc:
                log.warning("not listing %s: %s", name, exc)
        return JSONResponse(listed)

    async def action(self, request: Request) -> Response:
        refusal = self._refuse(request)
        if refusal:
            return refusal
        try:
            spec = self._spec(request)
        except RequestError as exc:
            return error_response(str(exc), exc.status_code)
        if request.method == "GET":
            return JSONResponse(self._describe(spec, full=True))
        return await self._invoke(request, spec)

    async def packages(self, request: Request) -> Response:
        refusal = self._refuse(request)
        if refusal:
            return refusal
        names = sorted({name.split("/")[0] for name in self.server.project.action_names()})
        namespace = self.server.settings.invoker.namespace
        return JSONResponse([{"name": n, "namespace": namespace, "publish": False,
                              "version": "0.0.1", "binding": False} for n in names])

    async def _invoke(self, request: Request, spec: ActionSpec) -> Response:
        try:
            body = await read_body(request, self.server.settings.body_limit)
            args = json.loads(body) if body else {}
        except RequestError as exc:
            return error_response(str(exc), exc.status_code)
        except ValueError as exc:
            return error_response(f"The request content was malformed: {exc}", 400)
        if not isinstance(args, dict):
            return error_response("The request content must be a JSON object.", 400)
        try:
            activation = await self.server.invoker.start(spec, args)
        except StreamwhiskError as exc:  # Overloaded: 503 with Retry-After
            return failure_response(exc)
        if request.query_params.get("blocking") != "true":
            return JSONResponse({"activationId": activation.activation_id}, status_code=202)
        try:
            result = await activation.result
        except StreamwhiskError as exc:
            return failure_response(exc, activation.activation_id)
        if request.query_params.get("result") == "true":
            return JSONResponse(result)
        return JSONResponse({"activationId": activation.activation_id, "name": spec.name,
                             "namespace": self._namespace(spec),
                             "response": {"result": result, "status": "success",
                                          "success": True}})

    def _spec(self, request: Request) -> ActionSpec:
        namespace = request.path_params["namespace"]
        if namespace not in ("_", self.server.settings.invoker.namespace):
            raise RequestError(NOT_FOUND, 404)
        try:
            return self.server.invoker.spec("/".join(split_action_name(
                request.path_params["name"])))
        except ActionNotFound as exc:
            raise RequestError(NOT_FOUND, 404) from exc
        except StreamwhiskError as exc:
            raise RequestError(str(exc), 400) from exc

    def _describe(self, spec: ActionSpec, full: bool) -> dict[str, Any]:
        notes = spec.annotations
        described: dict[str, Any] = {
            "name": spec.name,
            "namespace": self._namespace(spec),
            "version": "0.0.1",
            "publish": False,
            "annotations": [{"key": k, "value": v} for k, v in notes.annotations.items()]
            + [{"key": "exec", "value": notes.kind or "python:default"}],
            "limits": {"timeout": spec.limits.timeout_ms, "memory": spec.limits.memory_mb,
                       "concurrency": spec.limits.concurrency, "logs": spec.limits.logs_mb},
            "exec": {"kind": notes.kind or "python:default", "binary": spec.multi_file},
            "updated": self._started_ms,
        }
        if full:  # parameter names only: the values are secrets
            described["parameters"] = [{"key": k, "value": MASKED} for k in spec.params]
        return described

    def _namespace(self, spec: ActionSpec) -> str:
        return f"{self.server.settings.invoker.namespace}/{spec.package}"

    def _refuse(self, request: Request) -> Response | None:
        key = self.server.settings.invoker.api_key
        if key and matches(request.headers.get("authorization", ""), key):
            return None
        return error_response(UNAUTHORIZED, 401)
