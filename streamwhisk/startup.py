"""What `up` (`serve_project`) and `invoke` set up before serving: the project with the
platform's layer, the dev Ollama beside it when one is wanted, the REST API's key, and the
report of the project's actions at start. Diagnostics go to stderr."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from . import runs
from .basicauth import is_blank
from .cli_common import require_packages, stop_on_signals
from .config import Scope, references
from .errors import RuntimeUnavailable
from .hosting.subdomains import OBJECT_STORE, STREAM
from .ollama.commands import announce_dev_ollama
from .page import PAGE
from .project import ActionSpec, ActionSurvey, Project
from .runtime.environments import syntax_problems
from .runtime.kinds import resolve
from .runtime.runtimes import Runtimes
from .services.manager import Services
from .site import site_folder

if TYPE_CHECKING:
    from .hosting.serving import Served


@dataclass(frozen=True)
class UpOptions:
    """`streamwhisk up`'s options, as its --help describes them."""

    project: Path
    scope: str
    host: str
    port: int
    namespace: str
    max_workers: int
    queue_size: int
    idle_timeout: float
    stream_keepalive: float
    dev_ollama: str
    api_key: str
    allowed_hosts: tuple[str, ...]
    cors_origins: tuple[str, ...]
    header_timeout: float
    body_timeout: float
    log_level: str
    services: str


def serve_project(options: UpOptions) -> None:
    """Listen, set the project up with the platform's layer and the dev Ollama, say what is
    served and how it is protected, then serve until a signal stops it."""
    from .app import ServerSettings, create_app
    from .hosting.limits import HttpLimits
    from .hosting.serving import Served, listen, own_host_names, run, url_of
    from .logsetup import configure_logging
    from .runtime import InvokerSettings, PoolSettings
    from .stream import StreamSettings

    configure_logging(options.log_level)
    stop_on_signals()
    project = require_packages(options.project)
    sock = listen(options.host, options.port)
    url = url_of(sock)
    public = public_url(options.host, url)
    platform = {"OPSDEV_HOST": public, "OPSDEV_APIHOST": public,
                "OPSDEV_USERNAME": options.namespace}
    services = Services.plan(project, cast(Scope, options.scope), options.services,
                             options.namespace, platform)
    services.claim()  # before anything is served: a second run on the same data is refused
    values = services.values()
    object_store = None
    if "S3_HOST" in values:  # browsers reach it at s3.<host>, as on the cluster
        object_store = f"http://{values['S3_HOST']}:{values['S3_PORT']}"
        values["S3_API_URL"] = subdomain_url(public, OBJECT_STORE)
    overriding = services.override
    actions, companions = project_and_llm(
        project, options.scope, options.dev_ollama,
        platform if overriding else {**platform, **values}, values if overriding else {})
    api_key, key_note = rest_api_key(actions, options.api_key, url)
    settings = ServerSettings(
        InvokerSettings(pool=PoolSettings(options.max_workers, options.queue_size,
                                          options.idle_timeout),
                        namespace=options.namespace, api_host=url, api_key=api_key),
        StreamSettings(keepalive_s=options.stream_keepalive),
        hosts=own_host_names(options.host, int(url.rsplit(":", 1)[1]), options.allowed_hosts,
                             platform=True),
        cors=options.cors_origins, site=site_folder(project), object_store=object_store,
    )
    report_actions(actions)  # their runtimes are built in the background: see the lifespan
    click.echo(f"REST API at {url}/api/v1, and the #--web-secure true actions: HTTP basic "
               f"auth with {key_note}", err=True)
    click.echo(f"streamwhisk serving {project.resolve()} at {url}", err=True)
    _report_addresses(public, settings.site, object_store is not None)
    limits = HttpLimits(header_timeout_s=options.header_timeout,
                        body_timeout_s=options.body_timeout)
    for line in services.describe():
        click.echo(f"{line}: starting", err=True)
    services.start_in_background()
    app = create_app(actions, settings, guard=lambda spec: services.check(
        name for _, raw in spec.annotations.params for name in references(raw)))
    runs.note(project, url)
    try:
        run(Served(app, sock, on_exit=app.state.close_streams), companions, options.log_level,
            limits)
    finally:
        runs.forget(project)
        services.stop()


def public_url(host: str, url: str) -> str:
    """The server's origin as the platform names it (OPSDEV_HOST, OPSDEV_APIHOST): on this
    machine, `http://localhost:PORT`, whose `stream.` and `s3.` names every browser resolves
    to loopback; bound to another address, that address."""
    if host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""):
        return f"http://localhost:{url.rsplit(':', 1)[1]}"
    return url


def subdomain_url(public: str, prefix: str) -> str:
    scheme, _, netloc = public.partition("://")
    return f"{scheme}://{prefix}.{netloc}"


def _report_addresses(public: str, site: Path | None, object_store: bool) -> None:
    """Where the page, the streamer and (when its service runs) the object store are."""
    where = (f"the project's site (web/) at {public}/, the chat page at {public}{PAGE}/"
             if site else f"the chat page at {public}/")
    store = f", the object store at {subdomain_url(public, OBJECT_STORE)}" if object_store else ""
    click.echo(f"{where}; the streamer also at {subdomain_url(public, STREAM)}{store}", err=True)


def report_actions(actions: Project, runtimes: Runtimes | None = None,
                   unset: bool = True) -> list[ActionSpec]:
    """Each action with its runtime and whether it is web, or why it cannot run (no
    interpreter for its kind, a syntax error its Python rejects, and, when `runtimes` is
    given, a requirements.txt that does not install: they are built here, before this
    returns); the folders that are no action; then, with `unset`, every variable that no
    layer sets, once, with the actions that need it: found now, not one request at a time.
    Returns the actions that can run."""
    survey = actions.survey()
    problems, runs_on, described = _runtimes_of(survey, runtimes)
    problems.update(_syntax_problems(actions, survey, runs_on))
    width = max((len(a.name) for a in survey), default=0)
    needs: dict[str, list[str]] = {}
    for action in survey:
        if action.name in problems:
            click.echo(f"  {action.name:<{width}}  cannot run: {problems[action.name]}",
                       err=True)
            continue
        runtime = described.get(action.name) or _label(action.kind)
        click.echo(f"  {action.name:<{width}}  {runtime}  {_notes(action)}", err=True)
        for variable in action.unset:
            needs.setdefault(variable, []).append(action.name)
    for folder in actions.folders_without_main():
        click.echo(f"  {folder:<{width}}  not an action: a folder needs a __main__.py (as on "
                   "OpenServerless, which deploys nothing of it)", err=True)
    for variable, names in sorted(needs.items()):
        if unset:
            click.echo(f"unset: ${variable}, needed by {', '.join(names)}: passed as an empty "
                       f"string, as `ops ide deploy` does; set it in .env or "
                       f"{actions.scope}/.env, or export it", err=True)
    return [a.spec for a in survey if a.spec is not None and a.name not in problems]


def _runtimes_of(survey: list[ActionSurvey], runtimes: Runtimes | None
                 ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Why each action cannot run, the interpreter each can run on, and its runtime in
    words: from its built environment (with `runtimes`), else from its kind alone."""
    problems = {a.name: a.error for a in survey if a.error}
    runs_on: dict[str, str] = {}  # the interpreter, for the syntax check
    described: dict[str, str] = {}
    for action in survey:
        if action.spec is None:
            continue
        try:
            if runtimes is not None:
                environment = runtimes.environment(action.spec)
                runs_on[action.name], described[action.name] = (environment.python,
                                                                  environment.describe())
            else:
                kind = resolve(action.kind)
                runs_on[action.name] = kind.python
                described[action.name] = kind.label + (
                    " + requirements.txt" if action.spec.requirements else "")
        except RuntimeUnavailable as exc:
            problems[action.name] = str(exc)
    return problems, runs_on, described


def _notes(action: ActionSurvey) -> str:
    web = "web" if action.web else "not web"
    docker = action.spec.annotations.docker if action.spec is not None else None
    return web + (f"  (#--docker {docker}: runs here in that kind's runtime; a deploy sends "
                  "the image)" if docker else "")


def _label(kind: str) -> str:
    """The kind and its Python, for an action that does not load yet (an unset variable)."""
    try:
        return resolve(kind).label
    except RuntimeUnavailable:
        return kind


def _syntax_problems(actions: Project, survey: list[ActionSurvey],
                     runs_on: dict[str, str]) -> dict[str, str]:
    """The main files each action's own interpreter rejects (or cannot check)."""
    named = {a.spec.main_file: a for a in survey if a.spec is not None and a.name in runs_on}
    rejected, unchecked = syntax_problems(
        {path: runs_on[action.name] for path, action in named.items()}, actions.root)
    problems = {named[path].name: why for path, why in unchecked.items()}
    for path, reason in rejected.items():
        with contextlib.suppress(RuntimeUnavailable):
            kind = resolve(named[path].kind)
            reason += f" ({kind.fallback_note()})" if kind.fallback else ""
        problems[named[path].name] = reason
    return problems


def project_and_llm(project: Path, scope: str, mode: str, platform: dict[str, str],
                    overrides: dict[str, str] | None = None) -> tuple[Project, list[Served]]:
    """The project, with `platform` as its lowest layer (and `overrides` over every layer),
    and the dev Ollama to serve beside it when `mode` asks for one. With `auto`, OLLAMA_HOST
    points at it from the platform layer, so a value a user sets wins; with `always`, it wins
    over every layer, this run."""
    overrides = dict(overrides or {})
    from .devca import dev_ca
    from .hosting.serving import Served, listen, own_host_names, url_of
    from .ollama import DevOllamaSettings, Script, create_dev_ollama_app

    actions = Project(project, cast(Scope, scope), defaults=platform, overrides=overrides)
    configured = actions.config.settings(include_environment=True).get("OLLAMA_HOST")
    if mode == "never":
        return actions, []
    if mode == "auto" and configured is not None:
        click.echo(f"dev ollama not started: OLLAMA_HOST is {configured.value} "
                   f"(from {configured.source}); --dev-ollama always starts it anyway", err=True)
        return actions, []
    sock = listen("127.0.0.1", 0)
    dev_host = url_of(sock).removeprefix("http://")
    hosts = own_host_names("127.0.0.1", int(dev_host.rsplit(":", 1)[1]))
    served = Served(create_dev_ollama_app(DevOllamaSettings(Script.load(), hosts=hosts)), sock,
                    tls=dev_ca().server_context())
    if configured is None:
        announce_dev_ollama(url_of(sock), f": OLLAMA_HOST={dev_host} (no layer sets it); "
                             "it accepts any AUTH")
        platform = {**platform, "OLLAMA_HOST": dev_host}
        return Project(project, cast(Scope, scope), defaults=platform,
                       overrides=overrides), [served]
    announce_dev_ollama(url_of(sock), f": OLLAMA_HOST={dev_host} for this run, over "
                         f"{configured.value} from {configured.source}; it accepts any AUTH")
    return Project(project, cast(Scope, scope), defaults=platform,
                   overrides={**overrides, "OLLAMA_HOST": dev_host}), [served]


def rest_api_key(actions: Project, given: str, url: str) -> tuple[str, str]:
    """The key of the REST API (and of `#--web-secure true` actions) and where it comes from:
    the one given, else AUTH from the layers (the login's), else one made for this run and
    kept in a file only its user can read. An empty one (`AUTH=`) is no key: it never opens
    anything, so it is never taken."""
    if not is_blank(given):
        return given, "the --api-key given"
    login = actions.config.settings(wanted=["AUTH"]).get("AUTH")
    if login is not None and not is_blank(login.value):
        return login.value, (f"AUTH, from {login.source}; `streamwhisk config dump "
                             "--show-secrets` prints it")
    key = f"{uuid.uuid4()}:{secrets.token_urlsafe(32)}"
    empty = f" (AUTH in {login.source} is empty: no key)" if login is not None else ""
    return key, f"a key made for this run, in {_keep_run_key(key, url)}{empty}"


def _keep_run_key(key: str, url: str) -> Path:
    """Where this run's REST API key is, for its user only (never printed: logs keep it),
    with the address it belongs to: `chat` and `loader` send it only there."""
    from .paths import run_key_file

    path = run_key_file(url)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_text(f"{key}\n{url}\n")
    return path
