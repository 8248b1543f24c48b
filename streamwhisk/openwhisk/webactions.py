"""OpenWhisk web-action semantics: an HTTP request becomes `args`; a result becomes a response.

Follows OpenWhisk's docs/webactions.md: query < body merged into args, `__ow_method`,
`__ow_headers`, `__ow_path`; `.json/.http/.html/.text/.svg` extensions (`.http` by default);
`#--param` values are final; `body`/`statusCode`/`headers` shape the response.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ..basicauth import matches
from ..errors import RequestError, RuntimeFailure
from ..jsonbody import MalformedJSON, parse_json
from ..project import ActionSpec, validate_name
from ..stream.schema import RESERVED_ARGUMENTS, STREAM_HOST

NOT_FOUND = "The requested resource does not exist."
log = logging.getLogger("streamwhisk.server")

EXTENSIONS = (".json", ".http", ".html", ".text", ".svg")
_MEDIA = {".html": "text/html; charset=utf-8", ".text": "text/plain; charset=utf-8",
          ".svg": "image/svg+xml"}
_TEXTUAL = ("text/", "application/json", "application/javascript", "application/xml",
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
    except Exception as exc:
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


async def read_body(request: Request, limit: int) -> bytes:
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


GONE = "The client went away while sending its request."


def _too_large(size: int, limit: int) -> str:
    return f"The request content was {size} bytes or more, over the {limit}-byte limit."


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
    if not force_base64 and content_type.startswith(_TEXTUAL):
        return body.decode("utf-8", "replace")
    if not force_base64:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii")


def error_response(
    message: str, status: int, activation_id: str | None = None, retry_after: int | None = None
) -> JSONResponse:
    content: dict[str, Any] = {"error": message}
    if activation_id:
        content["code"] = activation_id
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(content, status_code=status, headers=headers)


def failure_response(exc: Exception, activation_id: str | None = None) -> Response:
    """An OpenWhisk-style `{"error": ...}` with the status the failure calls for."""
    if isinstance(exc, RuntimeFailure) and exc.retry_after is not None:
        return error_response(str(exc), exc.status_code, retry_after=exc.retry_after)
    if isinstance(exc, RequestError | RuntimeFailure):
        return error_response(str(exc), exc.status_code, activation_id)
    log.error("%s", exc)
    return error_response(str(exc), 500)


def result_response(result: dict[str, Any], target: WebTarget) -> Response:
    if "error" in result:
        # an application error: project `error`, ignoring the path, as OpenWhisk does
        error = result["error"]
        if target.extension == ".http" and isinstance(error, dict):
            return _http_response(error, default_status=400)
        return JSONResponse({"error": error}, status_code=400)
    if target.extension == ".http":
        return _http_response(result)
    value = _project(result, target)
    if target.extension == ".json":
        if not isinstance(value, (dict, list)):
            raise RequestError("Response type in header did not match generated content type.")
        return JSONResponse(value)
    if target.extension == ".text":
        text = json.dumps(value, indent=2) if isinstance(value, (dict, list)) else _scalar(value)
        return Response(text, media_type=_MEDIA[".text"])
    if not isinstance(value, str):
        raise RequestError("Response type in header did not match generated content type.")
    return Response(value, media_type=_MEDIA[target.extension])


def _scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _project(result: dict[str, Any], target: WebTarget) -> Any:
    path = target.path.strip("/")
    if not path and target.extension in _MEDIA:
        path = target.extension[1:]
    value: Any = result
    for key in filter(None, path.split("/")):
        if not isinstance(value, dict) or key not in value:
            raise RequestError("The requested property does not exist.", 404)
        value = value[key]
    return value


# Framing and hop-by-hop headers are the server's to set, never an action's
SERVERS_HEADERS = frozenset({
    "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
    "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


# RFC 9110 field values: visible characters, obs-text, spaces and tabs; nothing else
_FIELD_VALUE_OFFENDER = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
# statuses whose reply has no body (RFC 9110 15.3.5, 15.3.6, 15.4.5)
WITHOUT_BODY = frozenset({204, 205, 304})


def _checked_headers(given: dict[Any, Any]) -> dict[str, str]:
    """The action's headers, as HTTP allows them; ValueError names the one that is not."""
    checked = {}
    for key, raw in given.items():
        name = str(key)
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if not _TOKEN.match(name):
            raise ValueError(f"The action returned an invalid header name {name!r}.")
        if name.lower() in SERVERS_HEADERS:
            continue
        checked[name] = _checked_value(name, value)
    return checked


def _checked_value(name: str, value: str) -> str:
    offender = _FIELD_VALUE_OFFENDER.search(value)
    if offender is None:
        return value
    if offender.group() in "\r\n\0":
        raise ValueError(f"The action returned the header {name} with a line break in its value.")
    if ord(offender.group()) > 0xFF:
        raise ValueError(f"The action returned the header {name} with characters HTTP headers "
                         "cannot carry (outside latin-1); encode them, as RFC 8187 says")
    raise ValueError(f"The action returned the header {name} with the control character "
                     f"{offender.group()!r} in its value, which HTTP does not allow (RFC 9110).")


def _status_of(shape: dict[str, Any]) -> int | None:
    """The action's statusCode, if any; ValueError when it is not one a reply may carry."""
    status = shape.get("statusCode", shape.get("code"))
    if status is None:
        return None
    if isinstance(status, float) and status.is_integer():
        status = int(status)  # JSON has one number type: 200.0 is 200
    if isinstance(status, bool) or not isinstance(status, int | str) or not str(
            status).strip().isdigit():
        raise ValueError(f"The action returned an invalid statusCode {status!r}.")
    code = int(status)
    if not 200 <= code <= 599:
        raise ValueError(f"The action returned the statusCode {code}: a web action answers "
                         "with a final status, 200 to 599 (1xx are the connection's, not an "
                         "action's).")
    return code


def _payload_of(body: Any, media: str | None) -> bytes | str:
    if not isinstance(body, str):
        return json.dumps(body)
    if media and not media.lower().startswith(_TEXTUAL):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"The action returned a {media} body that is not valid "
                             "base64.") from None
    return body


def _http_response(shape: dict[str, Any], default_status: int = 200) -> Response:
    """The reply an action shaped (`statusCode`, `headers`, `body`), well-formed whatever it
    returned: an action's mistake is a 502 naming it, never a broken reply."""
    headers = shape.get("headers") or {}
    if not isinstance(headers, dict):
        return error_response("The action returned headers that are not an object.", 502)
    body = shape.get("body")
    try:
        headers = _checked_headers(headers)
        code = _status_of(shape)
        if body is None or body == "" or code in WITHOUT_BODY:
            return Response(status_code=code or 204, headers=headers)
        media = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        payload = _payload_of(body, media)
    except ValueError as exc:
        return error_response(str(exc), 502)
    default_media = "text/html; charset=utf-8" if isinstance(body, str) else "application/json"
    return Response(payload, status_code=code or default_status, headers=headers,
                    media_type=None if media else default_media)
