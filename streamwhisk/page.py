"""The chat page at `/_streamwhisk/` (and `/` when the project has no `web/` site of its own):
static files, and the libraries it loads.

The libraries (marked, DOMPurify, highlight.js and its stylesheet: `web/vendor.json`) come
from the npm registry, pinned by the lock file. In a checkout, `make setup` installs them
(`npm ci` in streamwhisk/web) and they are served from node_modules; a wheel carries copies in
streamwhisk/web/vendor/ (setup.py puts them there when the wheel is built). Nothing is fetched
from the internet at run time, and the Content-Security-Policy lets the page load nothing from
anywhere but this server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

log = logging.getLogger("streamwhisk.page")

WEB = Path(__file__).resolve().parent / "web"
STATIC = WEB / "static"
NODE_MODULES = WEB / "node_modules"
PACKAGED = WEB / "vendor"  # in a wheel


def _vendor_files() -> dict[str, Path]:
    sources: dict[str, str] = json.loads((WEB / "vendor.json").read_text())
    return {name: PACKAGED / name if (PACKAGED / name).is_file() else NODE_MODULES / source
            for name, source in sources.items()}


VENDOR = _vendor_files()
PAGE = "/_streamwhisk"  # the page's own path; `/` too when the project has no web/ site
MISSING = ("The chat page's libraries are not installed: "
           "run `make setup` (npm ci in streamwhisk/web).")


def security_headers(origins: list[str]) -> dict[str, str]:
    """The page loads nothing but from this server and its platform names (`origins`: the
    streamer and the object store), and an image from data: or those. Inline styles are let
    in for what a display shows in its sandboxed frame (a frame made from `srcdoc` takes the
    page's policy); no inline script runs anywhere."""
    others = " ".join(origins)
    return {
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {others}; connect-src 'self' {others}; "
        "frame-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class PageFacts(Protocol):
    """What the page asks the server beyond the actions themselves."""

    def web_actions(self) -> list[str]: ...

    def preparations(self) -> list[dict[str, Any]]: ...

    def platform_origins(self) -> list[str]: ...


def page_responder(facts: PageFacts) -> Callable[[], Response]:
    """What answers with the page itself (its links are absolute: it works at any path), its
    policy made once."""
    policy = security_headers(facts.platform_origins())
    return lambda: FileResponse(STATIC / "index.html", headers=policy)


def page_routes(facts: PageFacts, at_root: bool) -> list[BaseRoute]:
    """The page at /_streamwhisk/ (and at `/` when `at_root`), its files, its libraries, and
    what it asks the server."""
    missing = [str(path) for path in VENDOR.values() if not path.is_file()]
    if missing:
        log.warning("%s (missing %s)", MISSING, ", ".join(missing))
    policy = security_headers(facts.platform_origins())
    page = page_responder(facts)

    async def index(request: Request) -> Response:
        return page()

    async def vendor(request: Request) -> Response:
        path = VENDOR.get(request.path_params["name"])
        if path is None:
            return JSONResponse({"error": "The requested resource does not exist."}, 404)
        if not path.is_file():
            log.error("%s", MISSING)
            return JSONResponse({"error": MISSING}, 503)
        media = "text/css" if path.suffix == ".css" else "text/javascript"
        return FileResponse(path, media_type=media, headers=policy)

    async def actions(request: Request) -> Response:
        """The web actions, by name and grouped by package in the index's format: the page's
        chats when the project has no mastrogpt/index."""
        names = facts.web_actions()
        services: dict[str, list[dict[str, str]]] = {}
        for name in names:
            package, _, action = name.partition("/")
            services.setdefault(package, []).append({"name": action, "url": name})
        return JSONResponse({"services": services, "actions": names}, headers=policy)

    async def status(request: Request) -> Response:
        """The runtime environments being prepared (or prepared, or failed) since start."""
        return JSONResponse({"runtimes": facts.preparations()}, headers=policy)

    routes: list[BaseRoute] = [Route("/", index, methods=["GET", "HEAD"])] if at_root else []
    return [
        *routes,
        Route(f"{PAGE}/", index, methods=["GET", "HEAD"]),
        Route(f"{PAGE}/vendor/{{name}}", vendor, methods=["GET", "HEAD"]),
        Route(f"{PAGE}/actions", actions, methods=["GET"]),
        Route(f"{PAGE}/status", status, methods=["GET"]),
        Mount(f"{PAGE}/static", StaticFiles(directory=STATIC), name="static"),
    ]
