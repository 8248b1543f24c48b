"""The platform's addresses beside its own: a request for `stream.<name>` or `s3.<name>` (one of
the server's own names with a service's prefix) goes to that service's app, as the cluster's
ingress routes them. Browsers resolve every `*.localhost` name to loopback, so with the server
at `localhost:PORT`, `stream.localhost:PORT` and `s3.localhost:PORT` reach it with no DNS set-up.
`OwnHostOnly` (origins.py), outside this, has already refused every name not the server's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

# the cluster's service prefixes: what the platform's page computes from OPSDEV_APIHOST
STREAM = "stream"
OBJECT_STORE = "s3"
PREFIXES = (STREAM, OBJECT_STORE)


def is_dns_name(host: str) -> bool:
    """A name, not an address: only names have subdomains."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return not name.startswith("[") and not name.replace(".", "").isdigit()


def service_names(names: Iterable[str], prefixes: Iterable[str] = PREFIXES) -> set[str]:
    """`stream.<name>` and `s3.<name>` for each name (host:port) that is a DNS name."""
    return {f"{prefix}.{name}" for name in names if is_dns_name(name) for prefix in prefixes}


class BySubdomain:
    """ASGI middleware: `<prefix>.<rest>` to the prefix's app, anything else to `app`."""

    def __init__(self, app: ASGIApp, subdomains: Mapping[str, ASGIApp]) -> None:
        self.app = app
        self.subdomains = dict(subdomains)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1").lower() for k, v in scope["headers"]
                         if k == b"host"), "")
            prefix, dot, rest = host.partition(".")
            target = self.subdomains.get(prefix) if dot and is_dns_name(rest) else None
            if target is not None:
                await target(scope, receive, send)
                return
        await self.app(scope, receive, send)
