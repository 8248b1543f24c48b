"""Who may ask: the server's own Host names, and which pages' origins may call it.

Host: a request whose `Host` is not one of the server's names is refused (421), and one with
two Host headers (400), so a DNS-rebinding page, whose requests carry its own domain, can read
nothing.

Origin: a browser page of another origin can send some requests without asking first (a form
post, a simple GET; `OPTIONS` preflights come only before the others). On the routes a server
guards with an `OriginPolicy`, such a request is refused (403) when it says it comes from
elsewhere: an `Origin` that is not the server's own, or `Sec-Fetch-Site: cross-site` /
`same-site` (another port of localhost is the same site, not the same origin). Clients that
are not browsers send neither and are not affected. The origins given in `cors` (or `*`) are
let in, with the CORS headers the policy is made with; a route may also let every origin in
(`admit(..., trusted=True)`) when what it runs decides for itself. A name of the server that
serves content others uploaded (the object store's `s3.<host>`) is no page of the server's:
its origin is foreign like any other. The policy knows nothing of what the routes run: its
owner gives the headers and the words of the refusal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import RequestError

CROSS_SITE = ("cross-site", "same-site")


@dataclass(frozen=True)
class OriginPolicy:
    hosts: tuple[str, ...] = ()  # host:port names; empty: any
    cors: tuple[str, ...] = ()  # origins let in, or "*"
    # the CORS headers answered to an origin let in, beside Access-Control-Allow-Origin
    allow: dict[str, str] = field(default_factory=dict)
    # what a refused page is told, with {origin} for its origin
    refusal: str = ("A page of another origin ({origin}) may not call this server; start it "
                    "with --cors ORIGIN to let it.")
    # own names that serve uploaded content: their pages are not the server's own
    untrusted: frozenset[str] = frozenset()

    def foreign_origin(self, request: Request) -> str | None:
        """The other origin (or site) a browser says this request comes from, if any."""
        origin = request.headers.get("origin")
        if origin is not None:
            if origin == "null":
                return origin  # a sandboxed frame or a file: page
            parts = urlsplit(origin)
            own = self.hosts or (request.headers.get("host", "").lower(),)
            netloc = parts.netloc.lower()
            if ":" not in netloc.rsplit("]", 1)[-1]:
                netloc += ":443" if parts.scheme == "https" else ":80"
            mine = netloc in own and netloc not in self.untrusted and parts.scheme == "http"
            return None if mine else origin
        site = request.headers.get("sec-fetch-site")
        return site if site in CROSS_SITE else None

    def own_cross_origin(self, request: Request, allow: dict[str, str] | None = None
                         ) -> dict[str, str]:
        """CORS headers for a page of one of the server's own names calling another of them
        (the page at `localhost:PORT` streaming from `stream.localhost:PORT`); else none."""
        if self.foreign_origin(request) is not None:
            return {}
        return self._between_own_names(request, self.allow if allow is None else allow)

    def _between_own_names(self, request: Request, allow: dict[str, str]) -> dict[str, str]:
        """For a request whose origin, if any, is one of the server's own."""
        origin = request.headers.get("origin")
        if not origin:
            return {}
        host = request.headers.get("host", "").lower()
        if urlsplit(origin).netloc.lower() in (host, host.removesuffix(":80")):
            return {}  # the same origin: no CORS at all
        return {"Access-Control-Allow-Origin": origin, **allow, "Vary": "Origin"}

    def admit(self, request: Request, trusted: bool = False) -> dict[str, str]:
        """The CORS headers to answer with; RequestError 403 for a page it may not serve.
        `trusted`: what the route runs answers for its own CORS."""
        foreign = self.foreign_origin(request)
        if foreign is None:
            return {} if trusted else self._between_own_names(request, self.allow)
        if trusted:
            return {}
        if "*" in self.cors or foreign in self.cors:
            return self._cors_headers(foreign)
        raise RequestError(self.refusal.format(origin=foreign), 403)

    def preflight(self, request: Request) -> dict[str, str] | None:
        """The CORS headers of an OPTIONS answer, None when CORS is off for this origin."""
        origin = request.headers.get("origin")
        if origin and ("*" in self.cors or origin in self.cors):
            return self._cors_headers(origin)
        return self.own_cross_origin(request) or None

    def _cors_headers(self, origin: str) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": "*" if "*" in self.cors else origin,
                **self.allow, "Vary": "Origin"}


class CorsOnEveryAnswer:
    """ASGI middleware: every answer, errors included (a 404, a 413), carries the CORS
    headers the policy gives the server's own pages, so such a page reads the reason rather
    than "Failed to fetch". An answer that set its own is left as it is."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cors = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in
                self.policy.own_cross_origin(Request(scope)).items()]

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and cors and not any(
                    k.lower() == b"access-control-allow-origin" for k, _ in message["headers"]):
                message = {**message, "headers": [*message["headers"], *cors]}
            await send(message)

        await self.app(scope, receive, with_cors)


class OwnHostOnly:
    """ASGI middleware: 421 for a Host that is not one of the server's names."""

    def __init__(self, app: ASGIApp, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.hosts:
            given = [v.decode("latin-1").lower() for k, v in scope["headers"] if k == b"host"]
            if len(given) != 1:  # RFC 9112 3.2: exactly one Host, else 400
                await _refuse(send, 400, "A request carries exactly one Host header.")
                return
            host = given[0]
            if ":" not in host.rsplit("]", 1)[-1]:
                host += ":80"
            if host not in self.hosts:
                await _refuse(send, 421, "This server answers only to its own host names: "
                                         f"{', '.join(sorted(self.hosts))}.")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
