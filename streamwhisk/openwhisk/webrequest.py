"""OpenWhisk web actions, the request side: which action a path names, who may call it, and
the `args` a request becomes (docs/webactions.md: the query < the body, `__ow_method`,
`__ow_headers`, `__ow_path`; `#--param` values are final; a raw action gets `__ow_query` and
`__ow_body`)."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from ..basicauth import matches
from ..errors import RequestError, StreamwhiskError
from ..hosting.primitives import read_body
from ..jsonbody import MalformedJSON, parse_json
from ..names import validate_name
from ..project import ActionSpec
from ..stream.schema import RESERVED_ARGUMENTS, STREAM_HOST
from . import NOT_FOUND

EXTENSIONS = (".json", ".http", ".html", ".text", ".svg")
TEXTUAL = ("text/", "application/json", "application/javascript", "application/xml",
           "application/x-www-form-urlencoded", "image/svg+xml")
PROTECTED = "Request defines parameters that are not allowed (e.g., reserved properties)."


@dataclass(frozen=True)
class WebTarget:
    namespace: str
    package: str
    action: str
    extension: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.package}/{self.action}"


def parse_target(path: str, namespace: str | None = None) -> WebTarget:
    """`ns/pkg/action.ext/rest` (or `pkg/action...` when the namespace is given)."""
    parts = path.split("/")
    head = 2 if namespace is not None else 3
    if len(parts) < head or not all(parts[:head]):
        raise RequestError(NOT_FOUND, 404)
    ns = namespace if namespace is not None else parts[0]
    package, action = parts[head - 2], parts[head - 1]
    extension = next((e for e in EXTENSIONS if action.endswith(e)), "")
    if extension:
        action = action[: -len(extension)]
    rest = "/".join(parts[head:])
    try:
        validate_name(package)
        validate_name(action)
    except StreamwhiskError as exc:
        raise RequestError(str(exc), 400) from exc
    return WebTarget(ns, package, action, extension or ".http", f"/{rest}" if rest else "")


UNAUTHENTICATED = "The resource requires authentication, which was not supplied with the request."


def check_web_secure(spec: ActionSpec, request: Request, api_key: str) -> None:
    """`--web-secure`: true asks for the API key as basic auth, a value for the header
    X-Require-Whisk-Auth carrying it, as OpenWhisk does."""
    required = spec.annotations.annotations.get("require-whisk-auth")
    if required is None or required is False:
        return
    if required is True:
        supplied = matches(request.headers.get("authorization", ""), api_key)
    else:  # an empty value asks for nothing that anyone can give: it opens nothing
        given = request.headers.get("x-require-whisk-auth", "")
        supplied = bool(str(required)) and hmac.compare_digest(given.encode(),
                                                               str(required).encode())
    if not supplied:
        raise RequestError(UNAUTHENTICATED, 401)


def relayed_elsewhere(request: Request, args: dict[str, Any],
                      api_key: str) -> dict[str, str] | None:
    """A request's STREAM_HOST/STREAM_PORT, only when its caller holds the server's AUTH:
    a streamer in front of this server (`streamwhisk streamer`) relays that stream. Anyone
    else's never reach the action."""
    if STREAM_HOST not in args or not api_key:
        return None  # the common case, decided without looking at credentials
    if not matches(request.headers.get("authorization", ""), api_key):
        return None
    given: dict[str, str] = {k: str(args[k]) for k in RESERVED_ARGUMENTS if k in args}
    return given if len(given) == 2 else None


async def request_args(
    request: Request, spec: ActionSpec, target: WebTarget, body_limit: int
) -> dict[str, Any]:
    body = await read_body(request, body_limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    args: dict[str, Any] = {}
    if spec.annotations.raw_http:
        args["__ow_query"] = request.url.query
        if body:
            args["__ow_body"] = _opaque(body, content_type, force_base64=True)
    else:
        args.update(request.query_params.items())
        if body:
            args.update(_body_args(body, content_type))
    if any(key in spec.params or key.startswith("__ow_") for key in args
           if key not in ("__ow_body", "__ow_query")):
        raise RequestError(PROTECTED, 400)
    args["__ow_method"] = request.method.lower()
    args["__ow_headers"] = {k.lower(): v for k, v in request.headers.items()}
    args["__ow_path"] = target.path if target.extension == ".http" else ""
    return args


def _body_args(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            value = parse_json(body)
        except MalformedJSON as exc:
            raise RequestError(str(exc), 400) from exc
        return value if isinstance(value, dict) else {"__ow_body": body.decode("utf-8")}
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {"__ow_body": _opaque(body, content_type)}


def _opaque(body: bytes, content_type: str, force_base64: bool = False) -> str:
    if not force_base64 and content_type.startswith(TEXTUAL):
        return body.decode("utf-8", "replace")
    if not force_base64:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii")


