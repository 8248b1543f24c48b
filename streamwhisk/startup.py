"""What `up` and `invoke` set up before serving: the project with the platform's layer, the
dev Ollama beside it when one is wanted, and the report of the project's actions at start.
Diagnostics go to stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from .config import Scope
from .errors import RuntimeUnavailable
from .project import ActionSurvey, Project
from .runtime.environments import RuntimeEnvironment, syntax_problems
from .runtime.runtimes import Runtimes

if TYPE_CHECKING:
    from .server.serve import Served


def report_actions(actions: Project) -> None:
    """Each action with its runtime and whether it is web, or why it cannot run (no
    interpreter for its kind, a requirements.txt that does not install, a syntax error its
    Python rejects); then every variable that no layer sets, once, with the actions that
    need it: found now, not one request at a time. Runtimes are built here, before serving."""
    runtimes = Runtimes(progress=lambda line: click.echo(line, err=True))
    survey = actions.survey()
    problems = {a.name: a.error for a in survey if a.error}
    runs_in: dict[str, RuntimeEnvironment] = {}
    for action in survey:
        if action.spec is not None:
            try:
                runs_in[action.name] = runtimes.environment(action.spec)
            except RuntimeUnavailable as exc:
                problems[action.name] = str(exc)
    problems.update(_syntax_problems(actions, survey, runs_in))
    width = max((len(a.name) for a in survey), default=0)
    needs: dict[str, list[str]] = {}
    for action in survey:
        if action.name in problems:
            click.echo(f"  {action.name:<{width}}  cannot run: {problems[action.name]}",
                       err=True)
            continue
        web = "web" if action.web else "not web"
        runtime = runs_in[action.name].describe() if action.name in runs_in else action.kind
        click.echo(f"  {action.name:<{width}}  {runtime}  {web}", err=True)
        for variable in action.unset:
            needs.setdefault(variable, []).append(action.name)
    for variable, names in sorted(needs.items()):
        click.echo(f"unset: ${variable}, needed by {', '.join(names)}: set it in .env or "
                   f"{actions.scope}/.env, or export it", err=True)


def _syntax_problems(actions: Project, survey: list[ActionSurvey],
                     runs_in: dict[str, RuntimeEnvironment]) -> dict[str, str]:
    """The main files each runtime's own interpreter rejects (or cannot check)."""
    named = {a.spec.main_file: a.name for a in survey
             if a.spec is not None and a.name in runs_in}
    rejected, unchecked = syntax_problems(
        {path: runs_in[name].python for path, name in named.items()}, actions.root)
    problems = {named[path]: why for path, why in unchecked.items()}
    for path, reason in rejected.items():
        kind = runs_in[named[path]].kind
        problems[named[path]] = reason + (f" ({kind.fallback_note()})" if kind.fallback else "")
    return problems


def announce_dev_ollama(url: str, detail: str = "") -> None:
    """The line `streamwhisk.testing` waits for: it names the dev server for what it is."""
    click.echo(f"streamwhisk dev ollama (scripted replies, not an LLM) at {url}, and "
               f"{url.replace('http://', 'https://')} with the local CA{detail}", err=True)


def project_and_llm(project: Path, scope: str, mode: str,
                     platform: dict[str, str]) -> tuple[Project, list[Served]]:
    """The project, with `platform` as its lowest layer, and the dev Ollama to serve beside
    it when `mode` asks for one. With `auto`, OLLAMA_HOST points at it from the platform
    layer, so a value a user sets wins; with `always`, it wins over every layer, this run."""
    from .devca import dev_ca
    from .ollama import DevOllamaSettings, Script, create_dev_ollama_app
    from .server.serve import Served, listen, url_of

    actions = Project(project, cast(Scope, scope), defaults=platform)
    configured = actions.config.settings(include_environment=True).get("OLLAMA_HOST")
    if mode == "never":
        return actions, []
    if mode == "auto" and configured is not None:
        click.echo(f"dev ollama not started: OLLAMA_HOST is {configured.value} "
                   f"(from {configured.source}); --dev-ollama always starts it anyway", err=True)
        return actions, []
    sock = listen("127.0.0.1", 0)
    dev_host = url_of(sock).removeprefix("http://")
    served = Served(create_dev_ollama_app(DevOllamaSettings(Script.load())), sock,
                    tls=dev_ca().server_context())
    if configured is None:
        announce_dev_ollama(url_of(sock), f": OLLAMA_HOST={dev_host} (no layer sets it); "
                             "it accepts any AUTH")
        platform = {**platform, "OLLAMA_HOST": dev_host}
        return Project(project, cast(Scope, scope), defaults=platform), [served]
    announce_dev_ollama(url_of(sock), f": OLLAMA_HOST={dev_host} for this run, over "
                         f"{configured.value} from {configured.source}; it accepts any AUTH")
    return Project(project, cast(Scope, scope), defaults=platform,
                   overrides={"OLLAMA_HOST": dev_host}), [served]
