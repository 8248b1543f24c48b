"""OpenWhisk web actions, the answer side: a result becomes an HTTP response, as
docs/webactions.md says (`.json`, `.text`, `.html`, `.svg` project a field; `.http` takes
`statusCode`, `headers` and `body`), and always a well-formed one: an action's mistake is a
502 naming it."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.responses import JSONResponse, Response

from ..errors import RequestError
from ..hosting.primitives import error_response
from .webrequest import TEXTUAL, WebTarget

_MEDIA = {".html": "text/html; charset=utf-8", ".text": "text/plain; charset=utf-8",
          ".svg": "image/svg+xml"}


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


def _checked_headers(given: dict[Any, Any]) -> list[tuple[str, str]]:
    """The action's headers, as HTTP allows them, as OpenWhisk sends them: a list is one
    header per value (several Set-Cookie), None is no header; ValueError names the one that
    HTTP does not allow."""
    checked = []
    for key, raw in given.items():
        name = str(key)
        if not _TOKEN.match(name):
            raise ValueError(f"The action returned an invalid header name {name!r}.")
        if name.lower() in SERVERS_HEADERS:
            continue
        for one in raw if isinstance(raw, list) else [raw]:
            if one is not None:
                value = str(one).lower() if isinstance(one, bool) else str(one)
                checked.append((name, _checked_value(name, value)))
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
    if media and not media.lower().startswith(TEXTUAL):
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
        fields = _checked_headers(headers)
        code = _status_of(shape)
        if body is None or body == "" or code in WITHOUT_BODY:
            return _with(Response(status_code=code or 204), fields)
        media = next((v for k, v in fields if k.lower() == "content-type"), None)
        payload = _payload_of(body, media)
    except ValueError as exc:
        return error_response(str(exc), 502)
    default_media = "text/html; charset=utf-8" if isinstance(body, str) else "application/json"
    return _with(Response(payload, status_code=code or default_status,
                          media_type=None if media else default_media), fields)


def _with(response: Response, fields: list[tuple[str, str]]) -> Response:
    response.raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                             for k, v in fields]
    return response
