"""A reverse proxy to a server on loopback (the local object store behind `s3.<host>`),
streaming both ways with httpx, with CORS for the server's own pages only.

The Host header goes through unchanged: an S3 URL presigned for the public address
(`S3_API_URL`) is signed for that Host. A URL presigned for the store's own address and then
moved to the public one (the course's way of making "external" URLs) is signed for the store's
Host instead: a GET or HEAD the store refuses (403) with a presigned signature is asked once
more with the store's own Host, as the cluster's ingress would have sent it. The path goes
through as it was received, byte for byte (a signature covers its exact encoding: `%41`,
`+`, `;`); one that is not a plain ASCII path is a 400.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from .origins import OriginPolicy

# RFC 9110 7.6.1: a proxy does not forward these
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "host"})
UNREACHABLE = "The object store does not answer at {upstream}: is its service running " \
              "(`streamwhisk services`)?"


class ReverseProxy:
    """ASGI app. `upstream` is the base URL (http://host:port), or None when there is none:
    `missing` is then the error answered (503)."""

    def __init__(self, upstream: str | None, origins: OriginPolicy, missing: str,
                 allow: dict[str, str]) -> None:
        self.upstream = upstream
        self.origins = origins
        self.missing = missing
        self.allow = allow
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0),
                                        follow_redirects=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        cors = self.origins.own_cross_origin(request, self.allow)
        if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
            return Response(status_code=200 if cors else 403, headers=cors)
        upstream = self.upstream
        if upstream is None:
            return JSONResponse({"error": self.missing}, 503, headers=cors)
        path = raw_path(request)
        if path is None:
            return JSONResponse({"error": "The path is not a plain ASCII URL path: encode it "
                                          "(RFC 3986)."}, 400, headers=cors)
        # an upload streams through as it comes (never whole in memory); only a GET or HEAD,
        # which has no body, is ever asked again
        body = request.stream() if request.method not in ("GET", "HEAD") else b""
        try:
            answer = await self._send(request, upstream + path, body,
                                      request.headers.get("host"))
            if self._signed_elsewhere(request, answer):
                await answer.aclose()
                answer = await self._send(request, upstream + path, b"", None)
        except httpx.HTTPError:
            return JSONResponse({"error": UNREACHABLE.format(upstream=upstream)}, 502,
                                headers=cors)
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
                   and not k.lower().startswith("access-control-")}
        if "content-length" in answer.headers:  # the raw bytes are relayed: it holds
            headers["content-length"] = answer.headers["content-length"]
        return StreamingResponse(_relay(answer), status_code=answer.status_code,
                                 headers={**headers, **cors},
                                 background=BackgroundTask(answer.aclose))

    async def _send(self, request: Request, target: str, body: bytes | AsyncIterator[bytes],
                    host: str | None) -> httpx.Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        if host is not None:
            headers.append(("host", host))
        url = httpx.URL(target, query=request.url.query.encode())
        sent = self.client.build_request(request.method, url, headers=headers, content=body)
        return await self.client.send(sent, stream=True)

    @staticmethod
    def _signed_elsewhere(request: Request, answer: httpx.Response) -> bool:
        return (answer.status_code == 403 and request.method in ("GET", "HEAD")
                and "x-amz-signature" in request.url.query.lower())

    async def aclose(self) -> None:
        await self.client.aclose()


def raw_path(request: Request) -> str | None:
    """The path as the client sent it (percent-escapes kept), None when it is not one."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    try:
        path = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not path.startswith("/") or any(not 0x21 <= ord(c) <= 0x7E for c in path):
        return None
    return path


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in answer.aiter_raw():
        yield chunk
