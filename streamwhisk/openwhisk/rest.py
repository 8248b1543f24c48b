"""A subset of OpenWhisk's REST API: deploy, list, get, delete and invoke actions and packages.

    GET    /api/v1/namespaces                                  the namespace of these credentials
    GET    /api/v1/namespaces/{ns}/actions                     actions, with their annotations
    GET    /api/v1/namespaces/{ns}/actions/{pkg}/{action}      one action; parameter values masked
    PUT    /api/v1/namespaces/{ns}/actions/{pkg}/{action}      deploy (?overwrite=true to replace)
    DELETE /api/v1/namespaces/{ns}/actions/{pkg}/{action}      undeploy
    POST   /api/v1/namespaces/{ns}/actions/{pkg}/{action}      invoke (?blocking=true&result=true)
    GET    /api/v1/namespaces/{ns}/packages[/{pkg}]            packages, or one with its actions
    PUT    /api/v1/namespaces/{ns}/packages/{pkg}              create (?overwrite=true to replace)
    DELETE /api/v1/namespaces/{ns}/packages/{pkg}              delete an empty package

Requests authenticate with the server's API key (the configured AUTH) as HTTP basic
credentials, as with OpenWhisk, and must name the server by one of its own Host names: what is
deployed runs arbitrary code. Actions annotated `provide-api-key true` receive the key as
__OW_API_KEY (mastrogpt/index does). What is deployed is kept in `store.py`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..basicauth import matches
from ..errors import ActionNotFound, RequestError, StreamwhiskError
from ..jsonbody import MalformedJSON, parse_json
from ..names import check_entity_name
from ..project import ActionSpec, split_action_name
from .webactions import NOT_FOUND, error_response, failure_response, read_body

if TYPE_CHECKING:
    from ..app import Server

log = logging.getLogger("streamwhisk.server")

UNAUTHORIZED = ("The supplied authentication is invalid: send the server's AUTH (UUID:KEY, "
                "from `streamwhisk login` or the project's layers) as HTTP basic credentials.")
CONFLICT = "resource already exists"
# a zip action of OpenWhisk's 48 MB limit, in base64, inside its JSON body
DEPLOY_BODY_LIMIT = 70 * 1024 * 1024
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
        for name in self.server.invoker.action_names():
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

    async def change_action(self, request: Request) -> Response:
        """PUT (deploy) or DELETE (undeploy) an action in the store."""
        try:
            self._check(request)
            name = "/".join(split_action_name(request.path_params["name"]))
            store = self.server.store
            if request.method == "DELETE":
                described = self._deployed(name)
                if not store.delete_action(name):
                    raise RequestError(NOT_FOUND, 404)
                log.info("undeployed %s", name)
                return JSONResponse(described)
            if store.action(name) is not None and request.query_params.get("overwrite") != "true":
                raise RequestError(CONFLICT, 409)
            body = await self._json_body(request)
            # a zip is decoded, checked and unpacked in a thread: the server goes on serving
            await run_in_threadpool(store.put_action, name, body)
            log.info("deployed %s", name)
            return JSONResponse(self._deployed(name))
        except StreamwhiskError as exc:
            return _refused(exc)

    async def packages(self, request: Request) -> Response:
        refusal = self._refuse(request)
        if refusal:
            return refusal
        names = sorted({name.split("/")[0] for name in self.server.invoker.action_names()}
                       | set(self.server.store.packages()))
        return JSONResponse([self._package(n, brief=True) for n in names])

    async def package(self, request: Request) -> Response:
        """GET, PUT (create or ?overwrite=true) or DELETE one package."""
        try:
            self._check(request)
            name = check_entity_name(request.path_params["package"], "package")
            store = self.server.store
            if request.method == "GET":
                if name not in {a.split("/")[0] for a in self.server.invoker.action_names()} \
                        and store.package(name) is None:
                    raise RequestError(NOT_FOUND, 404)
                return JSONResponse(self._package(name, brief=False))
            if request.method == "DELETE":
                if not store.delete_package(name):
                    raise RequestError(NOT_FOUND, 404)
                return JSONResponse({"name": name, "namespace": self._ns()})
            if store.package(name) is not None and request.query_params.get("overwrite") != "true":
                raise RequestError(CONFLICT, 409)
            store.put_package(name, await self._json_body(request))
            return JSONResponse(self._package(name, brief=False))
        except StreamwhiskError as exc:
            return _refused(exc)

    async def namespaces(self, request: Request) -> Response:
        refusal = self._refuse(request)
        return refusal or JSONResponse([self._ns()])

    def _package(self, name: str, brief: bool) -> dict[str, Any]:
        described: dict[str, Any] = {"name": name, "namespace": self._ns(), "publish": False,
                                     "version": "0.0.1", "binding": False}
        if brief:
            return described
        kept = self.server.store.package(name) or {}
        described["binding"] = {}
        described["parameters"] = [{"key": k, "value": MASKED} for k in kept.get("parameters", {})]
        described["annotations"] = [{"key": k, "value": v}
                                    for k, v in kept.get("annotations", {}).items()]
        described["actions"] = [{"name": a.split("/")[1], "version": "0.0.1", "annotations": []}
                                for a in self.server.invoker.action_names()
                                if a.split("/")[0] == name]
        return described

    def _deployed(self, name: str) -> dict[str, Any]:
        return self._describe(self.server.store.load(*name.split("/")), full=True)

    def _ns(self) -> str:
        return self.server.settings.invoker.namespace

    def _check(self, request: Request) -> None:
        refusal = self._refusal(request)
        if refusal is not None:
            raise refusal
        if request.path_params["namespace"] not in ("_", self._ns()):
            raise RequestError(NOT_FOUND, 404)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        body = await read_body(request, DEPLOY_BODY_LIMIT)
        try:  # up to 70 MB: parsed in a thread
            parsed = await run_in_threadpool(parse_json, body) if body else {}
        except MalformedJSON as exc:
            raise RequestError(str(exc), 400) from exc
        if not isinstance(parsed, dict):
            raise RequestError("The request content must be a JSON object.", 400)
        return parsed

    async def _invoke(self, request: Request, spec: ActionSpec) -> Response:
        try:
            body = await read_body(request, self.server.settings.body_limit)
            args = parse_json(body) if body else {}
        except RequestError as exc:
            return error_response(str(exc), exc.status_code)
        except MalformedJSON as exc:
            return error_response(str(exc), 400)
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
        refusal = self._refusal(request)
        return None if refusal is None else error_response(str(refusal), refusal.status_code)

    def _refusal(self, request: Request) -> RequestError | None:
        """Credentials, and no page of another origin (the Host is the middleware's)."""
        try:
            self.server.origins.admit(request)
        except RequestError as exc:
            return exc
        key = self.server.settings.invoker.api_key
        if key and matches(request.headers.get("authorization", ""), key):
            return None
        return RequestError(UNAUTHORIZED, 401)


def _refused(exc: StreamwhiskError) -> Response:
    """A refused change: the request's status, 404 for what is not there, else 400 (a bad
    name, a bad body: the caller's to fix)."""
    if isinstance(exc, RequestError):
        return error_response(str(exc), exc.status_code)
    return error_response(str(exc), 404 if isinstance(exc, ActionNotFound) else 400)
