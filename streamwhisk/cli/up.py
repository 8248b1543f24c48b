"""`streamwhisk up` (`serve_project`): the run assembled (`assembly.Run`), served, and said:
what is served where and how it is protected, the dev Ollama's decision, and the report of
the project's actions at start (also `runtimes`'s). Diagnostics go to stderr."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import click

from .. import runs
from ..assembly import Run, RunChoices, RunReport, subdomain_url
from ..config import Scope, references
from ..errors import RuntimeUnavailable
from ..hosting.subdomains import STREAM
from ..page import PAGE
from ..project import ActionSpec, ActionSurvey, Project
from ..runtime.kinds import resolve
from ..runtime.runtimes import Runtimes
from ..runtime.syntax import action_syntax_problems
from ..site import site_folder
from .common import require_packages, stop_on_signals
from .ollama import announce_dev_ollama


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
    keep_activations: int
    activations_mb: int


def serve_project(options: UpOptions) -> None:
    """Listen, assemble the run (the project with the platform's layer, its services, the
    dev Ollama, the key), say what is served and how it is protected, then serve until a
    signal stops it."""
    from ..activations.journal import Bounds
    from ..app import ServerSettings, create_app
    from ..hosting.limits import HttpLimits
    from ..hosting.serving import Served, listen, own_host_names, run, url_of
    from ..logsetup import configure_logging
    from ..runtime import InvokerSettings, PoolSettings
    from ..stream import StreamSettings

    configure_logging(options.log_level)
    stop_on_signals()
    require_packages(options.project)
    sock = listen(options.host, options.port)
    url = url_of(sock)
    assembled = Run(RunChoices(options.project, cast(Scope, options.scope), options.services,
                               options.dev_ollama, options.api_key, options.namespace),
                    url, bound_to=options.host)
    services = assembled.services
    services.claim()  # before anything is served: a second run on the same data is refused
    companions = [assembled.serve_dev_ollama()] if assembled.wants_dev_ollama else []
    api_key, _ = assembled.api_key()
    report = assembled.report()
    settings = ServerSettings(
        InvokerSettings(pool=PoolSettings(options.max_workers, options.queue_size,
                                          options.idle_timeout),
                        namespace=options.namespace, api_host=url, api_key=api_key),
        StreamSettings(keepalive_s=options.stream_keepalive),
        hosts=own_host_names(options.host, int(url.rsplit(":", 1)[1]), options.allowed_hosts,
                             platform=True),
        cors=options.cors_origins, site=site_folder(assembled.project.root),
        object_store=services.s3_url(),
        activations=Bounds(options.keep_activations, options.activations_mb),
    )
    announce_dev_ollama_of(report, options.dev_ollama)
    report_actions(assembled.project)  # their runtimes are built in the background
    click.echo(f"REST API at {url}/api/v1, and the #--web-secure true actions: HTTP basic "
               f"auth with {report.key_source}", err=True)
    click.echo(f"streamwhisk serving {report.project} at {url}", err=True)
    _report_addresses(report, settings.site)
    limits = HttpLimits(header_timeout_s=options.header_timeout,
                        body_timeout_s=options.body_timeout)
    for line in services.describe():
        click.echo(f"{line}: starting", err=True)
    services.start_in_background()
    app = create_app(assembled.project, settings, guard=lambda spec: services.check(
        name for _, raw in spec.annotations.params for name in references(raw)))
    runs.note(report)
    try:
        run(Served(app, sock, on_exit=app.state.close_streams), companions, options.log_level,
            limits)
    finally:
        runs.forget(report)
        services.stop()


def announce_dev_ollama_of(report: RunReport, mode: str) -> None:
    """Whether the run serves the dev Ollama, and what OLLAMA_HOST the actions get."""
    if report.dev_ollama is not None:
        host = report.dev_ollama.removeprefix("http://")
        announce_dev_ollama(report.dev_ollama, (
            f": OLLAMA_HOST={host} for this run, over {report.ollama_host}"
            if report.ollama_host else f": OLLAMA_HOST={host} (no layer sets it)")
            + "; it accepts any AUTH")
    elif mode == "auto" and report.ollama_host:
        click.echo(f"dev ollama not started: OLLAMA_HOST is {report.ollama_host}; "
                   "--dev-ollama always starts it anyway", err=True)


def _report_addresses(report: RunReport, site: Path | None) -> None:
    """Where the page, the streamer and (when its service runs) the object store are."""
    public = report.public or ""
    where = (f"the project's site (web/) at {public}/, the chat page at {public}{PAGE}/"
             if site else f"the chat page at {public}/")
    store = f", the object store at {report.object_store}" if report.object_store else ""
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
    problems.update(action_syntax_problems(
        (a.spec for a in survey if a.spec is not None), runs_on, actions.root))
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
