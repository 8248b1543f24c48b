"""Names under `.localhost` are loopback (RFC 6761, 6.3), in the action as in the browser.

The platform's addresses here are `stream.localhost:PORT` and `s3.localhost:PORT` (S3_API_URL),
which every browser resolves to loopback; glibc resolves only `localhost` itself unless the
machine runs systemd's nss-myhostname. An action that connects to S3_API_URL, as it may on the
cluster, would fail to resolve it: the worker's resolver answers such names as it answers
`localhost`, and leaves every other name alone."""

from __future__ import annotations

import socket
from typing import Any

_resolve = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode("idna") if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().rstrip(".").endswith(".localhost"):
        host = "localhost"
    return _resolve(host, *args, **kwargs)


def resolve_localhost_names() -> None:
    socket.getaddrinfo = _getaddrinfo
