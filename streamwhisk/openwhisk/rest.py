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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..activations.recorder import ACTIVATION_HEADER, REPLAY_HEADER
from ..basicauth import matches
from ..errors import ActionNotFound, DeployConflict, RequestError, StreamwhiskError
from ..hosting.origins import OriginPolicy
from ..hosting.primitives import answering, failure_response, read_json_object
from ..names import DEFAULT_PACKAGE, check_entity_name, split_action_name
from ..project import ActionSpec
from ..runtime.activation import Activation
from . import NOT_FOUND
from .store import DeployedStore
from .webroutes import Runner

log = logging.getLogger("streamwhisk.rest")

UNAUTHORIZED = ("The supplied authentication is invalid: send the server's AUTH (UUID:KEY, "
                "from `streamwhisk login` or the project's layers) as HTTP basic credentials.")
CONFLICT = "resource already exists"
# a zip action of OpenWhisk's 48 MB limit, in base64, inside its JSON body
DEPLOY_BODY_LIMIT = 70 * 1024 * 1024
MASKED = "********"


class Actions(Runner, Protocol):
    """What the REST API lists and runs (`runtime.Invoker` is one): what runs web actions,
    and the names of them all."""

    def action_names(self) -> list[str]: ...


class Recorded(Protocol):
    """What the record of an activation is made from (`activations.record.Captured`)."""

    def note_outcome(self, activation: Activation) -> None: ...

    def record(self, mask: Callable[[str], str]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RestSettings:
    namespace: str
    api_key: str
    body_limit: int  # of an invocation's arguments


class RestApi:
    """The routes, given the few collaborators they use, never the whole server."""

    def __init__(self, runner: Actions, store: DeployedStore, origins: OriginPolicy,
                 settings: RestSettings, mask: Callable[[str], str] = str) -> None:
        self.runner = runner
        self._mask = mask
        self.store = store
        self.origins = origins
        self.settings = settings
        self._started_ms = int(time.time() * 1000)

    def routes(self) -> list[Route]:
        base = "/api/v1/namespaces"
        return [
            Route(f"{base}/{{namespace}}/actions", self.actions, methods=["GET"]),
            Route(f"{base}/{{namespace}}/actions/{{name:path}}", self.action,
                  methods=["GET", "POST"]),
            Route(f"{base}/{{namespace}}/actions/{{name:path}}", self.change_action,
                  methods=["PUT", "DELETE"]),
            Route(f"{base}/{{namespace}}/packages", self.packages, methods=["GET"]),
            Route(f"{base}/{{namespace}}/packages/{{package}}", self.package,
                  methods=["GET", "PUT", "DELETE"]),
            Route(base, self.namespaces, methods=["GET"]),
        ]

    @answering
    async def actions(self, request: Request) -> Response:
        self.admit(request)
        listed = []
        for name in self.runner.action_names():
            try:
                listed.append(self._describe(self.runner.spec(name), full=False))
            except StreamwhiskError as exc:
                log.warning("not listing %s: %s", name, exc)
        return JSONResponse(listed)

    @answering
    async def action(self, request: Request) -> Response:
        """GET one action, or POST to invoke it."""
        self.admit(request)
        spec = self._spec(request)
        if request.method == "GET":
            return JSONResponse(self._describe(spec, full=True))
        return await self._invoke(request, spec)

    @answering
    async def change_action(self, request: Request) -> Response:
        """PUT (deploy) or DELETE (undeploy) an action in the store."""
        self.admit(request)
        name = "/".join(split_action_name(request.path_params["name"]))
        if request.method == "DELETE":
            described = self._deployed(name)
            if not self.store.delete_action(name):
                raise RequestError(NOT_FOUND, 404)
            log.info("undeployed %s", name)
            return JSONResponse(described)
        self._refuse_overwrite(request, self.store.action(name))
        body = await read_json_object(request, DEPLOY_BODY_LIMIT, in_thread=True)
        # a zip is decoded, checked and unpacked in a thread: the server goes on serving
        await run_in_threadpool(self.store.put_action, name, body)
        log.info("deployed %s", name)
        return JSONResponse(self._deployed(name))

    @answering
    async def packages(self, request: Request) -> Response:
        self.admit(request)
        return JSONResponse([self._package(n, brief=True) for n in self._package_names()])

    @answering
    async def package(self, request: Request) -> Response:
        """GET, PUT (create or ?overwrite=true) or DELETE one package."""
        self.admit(request)
        name = check_entity_name(request.path_params["package"], "package")
        if request.method == "GET":
            if name not in self._package_names():
                raise RequestError(NOT_FOUND, 404)
        elif request.method == "DELETE":
            if not self.store.delete_package(name):
                raise RequestError(NOT_FOUND, 404)
            return JSONResponse({"name": name, "namespace": self._ns()})
        else:
            # the body first: an answer sent before it is read can reach the client as a reset
            body = await read_json_object(request, DEPLOY_BODY_LIMIT)
            self._refuse_overwrite(request, self.store.package(name))
            self.store.put_package(name, body)
        return JSONResponse(self._package(name, brief=False))

    @answering
    async def namespaces(self, request: Request) -> Response:
        self.admit(request)
        return JSONResponse([self._ns()])

    def _package_names(self) -> list[str]:
        packages = {name.split("/")[0] for name in self.runner.action_names()}
        return sorted((packages - {DEFAULT_PACKAGE}) | set(self.store.packages()))

    def _package(self, name: str, brief: bool) -> dict[str, Any]:
        described: dict[str, Any] = {"name": name, "namespace": self._ns(), "publish": False,
                                     "version": "0.0.1", "binding": False}
        if brief:
            return described
        kept = self.store.package(name) or {}
        described["binding"] = {}
        described["parameters"] = [{"key": k, "value": MASKED} for k in kept.get("parameters", {})]
        described["annotations"] = [{"key": k, "value": v}
                                    for k, v in kept.get("annotations", {}).items()]
        described["actions"] = [{"name": a.split("/")[1], "version": "0.0.1", "annotations": []}
                                for a in self.runner.action_names()
                                if a.split("/")[0] == name]
        return described

    def _deployed(self, name: str) -> dict[str, Any]:
        return self._describe(self.store.load(*name.split("/")), full=True)

    def _ns(self) -> str:
        return self.settings.namespace

    @staticmethod
    def _refuse_overwrite(request: Request, existing: dict[str, Any] | None) -> None:
        if existing is not None and request.query_params.get("overwrite") != "true":
            raise DeployConflict(CONFLICT)

    async def _invoke(self, request: Request, spec: ActionSpec) -> Response:
        args = await read_json_object(request, self.settings.body_limit)
        activation = await self.runner.start(  # Overloaded: 503, Retry-After
            spec, args, replay_of=request.headers.get(REPLAY_HEADER))
        named = {ACTIVATION_HEADER: activation.activation_id}
        if request.query_params.get("blocking") != "true":
            return JSONResponse({"activationId": activation.activation_id}, status_code=202,
                                headers=named)
        try:
            result = await activation.result
        except StreamwhiskError as exc:
            failed = failure_response(exc, activation.activation_id)
            failed.headers.update(named)
            return failed
        # as OpenWhisk: the action's own error is a 502, with its answer
        status = 502 if "error" in result else 200
        if request.query_params.get("result") == "true":
            return JSONResponse(result, status_code=status, headers=named)
        captured: Recorded | None = activation.captured
        if captured is not None:  # the record, as OpenWhisk answers a blocking invoke
            captured.note_outcome(activation)
            record = captured.record(self._mask)
            record.pop("trace", None)
            return JSONResponse(record, status_code=status, headers=named)
        return JSONResponse({"activationId": activation.activation_id, "name": spec.name,
                             "namespace": self._namespace(spec),
                             "response": {"result": result, "status": "success",
                                          "success": True}}, headers=named)

    def _spec(self, request: Request) -> ActionSpec:
        try:
            return self.runner.spec("/".join(split_action_name(request.path_params["name"])))
        except ActionNotFound as exc:
            raise RequestError(NOT_FOUND, 404) from exc

    def _describe(self, spec: ActionSpec, full: bool) -> dict[str, Any]:
        notes = spec.annotations
        described: dict[str, Any] = {
            "name": spec.name,
            "namespace": self._namespace(spec),
            "version": "0.0.1",
            "publish": False,
            "annotations": [{"key": k, "value": v} for k, v in notes.annotations.items()]
            + [{"key": "exec", "value": notes.kind or "python:default"}],
            "limits": spec.limits.as_openwhisk(),
            "exec": {"kind": notes.kind or "python:default", "binary": spec.multi_file},
            "updated": self._started_ms,
        }
        if full:  # parameter names only: the values are secrets
            described["parameters"] = [{"key": k, "value": MASKED} for k in spec.params]
        return described

    def _namespace(self, spec: ActionSpec) -> str:
        """Where OpenWhisk says an action is: `ns/package`, or `ns` in the default package."""
        return self._ns() if spec.package == DEFAULT_PACKAGE else f"{self._ns()}/{spec.package}"

    def admit(self, request: Request) -> None:
        """Credentials, no page of another origin (the Host is the middleware's), and this
        server's namespace (or `_`) as the one named: else RequestError, as OpenWhisk's."""
        self.origins.admit(request)
        if not matches(request.headers.get("authorization", ""), self.settings.api_key):
            raise RequestError(UNAUTHORIZED, 401)
        named = request.path_params.get("namespace")
        if named is not None and named not in ("_", self._ns()):
            raise RequestError(f"The supplied authentication is not authorized to access "
                               f"'{named}'.", 403)
