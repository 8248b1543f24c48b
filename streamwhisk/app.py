"""The one ASGI app `streamwhisk up` serves, composed: the project's site (web/) or the chat
page at `/`, OpenWhisk's web actions and streamer, and its REST API, behind the Host rule;
`stream.<host>` (the streamer alone) and `s3.<host>` (the local object store) beside them;
the project's runtimes prepared in the background at start. The route groups live in
`openwhisk/`, `page.py` and `site.py`; each is given the few collaborators it uses."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .activations.journal import Bounds, Journal, journal_file
from .activations.recorder import Recorder
from .errors import StreamwhiskError
from .hosting.origins import CorsOnEveryAnswer, OriginPolicy, OwnHostOnly
from .hosting.primitives import UNEXPECTED
from .hosting.proxy import ReverseProxy
from .hosting.subdomains import OBJECT_STORE, STREAM, BySubdomain
from .mcptools.http import McpOverHttp
from .openwhisk.activationroutes import ActivationsApi
from .openwhisk.rest import RestApi, RestSettings
from .openwhisk.store import DeployedStore
from .openwhisk.webroutes import WebActions, WebSettings
from .page import PAGE, page_responder, page_routes
from .project import ActionSpec, Project
from .redact import RedactingFilter, Redactor
from .runtime import Invoker, InvokerSettings
from .site import site_routes
from .stream import StreamSettings

# OpenWhisk's web-action CORS: `--cors ORIGIN` answers with these; an action annotated
# web-custom-options true answers OPTIONS (and its CORS) itself, as on OpenWhisk
OPENWHISK_CORS = {
    "Access-Control-Allow-Methods": "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH",
    "Access-Control-Allow-Headers": "Authorization, Origin, X-Requested-With, Content-Type, "
                                    "Accept, User-Agent, X-Streamwhisk-Previous, "
                                    "X-Streamwhisk-Replay-Of",
    # a page of another of the server's names (stream.<host>) reads which activation it ran
    "Access-Control-Expose-Headers": "X-OpenWhisk-Activation-Id, X-Streamwhisk-Trace",
}
REFUSAL = ("A page of another origin ({origin}) may not run actions here; start the server "
           "with --cors ORIGIN to let it, or annotate the action web-custom-options true to "
           "let it decide.")
OPENWHISK_BODY_LIMIT = 1024 * 1024
NO_STORE = ("This project runs with no object store: start it with --services auto (an action "
            "naming S3_ variables) or --services s3.")
S3_CORS = {"Access-Control-Allow-Methods": "GET, HEAD, PUT, POST, DELETE",
           "Access-Control-Allow-Headers": "*", "Access-Control-Expose-Headers": "ETag",
           "Access-Control-Max-Age": "600"}


@dataclass(frozen=True)
class ServerSettings:
    invoker: InvokerSettings = field(default_factory=InvokerSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    body_limit: int = OPENWHISK_BODY_LIMIT
    # the Host names the server answers to (host:port); empty: any
    hosts: tuple[str, ...] = ()
    # the origins whose pages may call web actions (OpenWhisk's CORS), or "*"; empty: none
    cors: tuple[str, ...] = ()
    # where deployed actions are kept; None: the data folder's deployed/
    store_dir: Path | None = None
    # the project's own site (its web/ folder), served at `/`; None: the chat page is `/`
    site: Path | None = None
    # the local object store's own address (http://host:port), behind `s3.<host>`
    object_store: str | None = None
    # how many activation records are kept (newest first); keep=0 records none
    activations: Bounds = field(default_factory=Bounds)
    # where they are kept; None: the project's journal in the data folder
    journal: Path | None = None


class Server:
    """What the routes share: the project, what is deployed, the invoker; and the start and
    the end of serving them."""

    def __init__(self, project: Project, settings: ServerSettings,
                 guard: Callable[[ActionSpec], None] | None = None) -> None:
        self.project = project
        self.settings = settings
        namespace, api_key = settings.invoker.namespace, settings.invoker.api_key
        self.store = DeployedStore(namespace, settings.store_dir)
        self.journal = Journal(settings.journal or journal_file(project.root),
                               settings.activations)
        self.recorder = Recorder(self.journal, namespace)
        self.invoker = Invoker(project, settings.invoker, store=self.store, guard=guard,
                               recorder=self.recorder)
        # the object store's name serves what anyone uploaded: its pages are not trusted
        store_names = frozenset(h for h in settings.hosts if h.startswith(f"{OBJECT_STORE}."))
        self.origins = origins = OriginPolicy(settings.hosts, settings.cors, OPENWHISK_CORS,
                                              REFUSAL, store_names)
        self.web = WebActions(self.invoker, origins, WebSettings(
            namespace, api_key, settings.body_limit, settings.stream), self.invoker.redact,
            traces=self.recorder)
        self.rest = RestApi(self.invoker, self.store, origins,
                            RestSettings(namespace, api_key, settings.body_limit),
                            mask=self.invoker.redact)
        self.activations = ActivationsApi(self.recorder, self.rest.admit, origins.admit)
        self.mcp = McpOverHttp(self.invoker, origins, api_key)
        self.object_store = ReverseProxy(settings.object_store, origins, NO_STORE, S3_CORS)

    def web_actions(self) -> list[str]:
        """The names of the actions a browser may call (project and deployed)."""
        names = []
        for name in self.invoker.action_names():
            with contextlib.suppress(StreamwhiskError):  # an action that cannot load says so
                if self.invoker.spec(name).annotations.web:
                    names.append(name)
        return names

    def platform_origins(self) -> list[str]:
        """The origins of the server's other names (stream., s3.), and the object store's own
        address: what the page may fetch from beside itself."""
        # not an IPv6 literal: CSP has no syntax for one (Chromium refuses the whole source
        # with a console error on every load), and the page at [::1] has it as 'self'
        origins = [f"http://{name}" for name in self.settings.hosts if not name.startswith("[")]
        return origins + ([self.settings.object_store] if self.settings.object_store else [])

    def preparations(self) -> list[dict[str, Any]]:
        return [p.as_json() for p in self.invoker.runtimes.preparations()]

    def close_streams(self) -> None:
        self.web.close_streams()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        mask_secrets_in_logs(self.invoker.redact)
        await asyncio.get_running_loop().run_in_executor(None, self.journal.start)
        self.invoker.prepare_runtimes()  # in the background: the server answers at once
        # What exists now lives as long as the server: keep the collector from walking it
        # again and again (each full collection paused every stream for milliseconds).
        gc.freeze()
        try:
            yield
        finally:
            await self.object_store.aclose()
            await self.mcp.close()
            await self.invoker.close()
            await asyncio.get_running_loop().run_in_executor(None, self.journal.close)


def mask_secrets_in_logs(redact: Redactor) -> None:
    """Every log line the server writes, uvicorn's included, with secrets masked."""
    masking = RedactingFilter(redact)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(masking)


def create_app(project: Project, settings: ServerSettings | None = None,
               guard: Callable[[ActionSpec], None] | None = None) -> Starlette:
    """`guard` may refuse an activation before it starts (see `Invoker`)."""
    server = Server(project, settings or ServerSettings(), guard)
    site = server.settings.site
    routes = [*server.web.routes(), *server.rest.routes(), *server.activations.routes(PAGE),
              *server.mcp.routes(),
              *page_routes(server, at_root=site is None),
              *(site_routes(site, page_responder(server)) if site else [])]
    streamer = Starlette(routes=server.web.stream_routes(), exception_handlers=UNEXPECTED,
                         middleware=[
        Middleware(CorsOnEveryAnswer, policy=server.origins)])
    app = Starlette(routes=routes, lifespan=server.lifespan, exception_handlers=UNEXPECTED,
                    middleware=[
        Middleware(OwnHostOnly, hosts=server.settings.hosts),
        Middleware(BySubdomain, subdomains={STREAM: streamer, OBJECT_STORE: server.object_store})])
    app.state.server = server
    app.state.close_streams = server.close_streams
    return app
