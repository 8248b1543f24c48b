"""What stands before the dev Ollama as a proxy stands before a hosted one: HTTP basic
credentials equal to AUTH, and `//api/...` read as `/api/...`."""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..basicauth import matches

SERVER_HEADER = {"Server": "streamwhisk-dev-ollama"}
_SLASHES = re.compile(r"/{2,}")


class BasicAuth:
    """Requires HTTP basic credentials equal to AUTH, as the proxy before a hosted Ollama does,
    and reads `//api/...` as `/api/...`. Pure ASGI, so streamed answers still notice a client
    that hangs up."""

    def __init__(self, app: ASGIApp, auth: str) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            # `f"{base}/api/generate"` with a `base` that ends in "/": Ollama answers it
            path = _SLASHES.sub("/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        authorization = Headers(scope=scope).get("authorization", "")
        if scope["type"] == "http" and self.auth and not matches(authorization, self.auth):
            refusal = JSONResponse({"error": "unauthorized: send AUTH as HTTP basic credentials"},
                                   401, headers=SERVER_HEADER)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
