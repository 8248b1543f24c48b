"""`streamwhisk`: nouns and verbs; data on stdout, diagnostics on stderr, user errors exit 1."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import click

from .annotations import parse_value
from .config import Config, login_file, write_login
from .errors import StreamwhiskError
from .project import Project

PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    envvar="STREAMWHISK_PROJECT", show_default=True,
    help="The project directory (holds packages/).",
)


class UserError(click.ClickException):
    """Exit 1 with a one-line reason."""


def _fail(exc: Exception) -> UserError:
    return UserError(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streamwhisk")
def main() -> None:
    """Run, stream and test OpenServerless-style LLM chat actions on one machine.

    \b
    Examples:
      streamwhisk up --port 8080              serve ./packages as web actions
      streamwhisk invoke chat/simple -p input "Who are you?"
      streamwhisk config dump --sources       where each setting comes from
    """


@main.command()
@PROJECT
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, help="Port; 0 picks a free one.")
@click.option("--namespace", default="guest", show_default=True, help="The local namespace.")
@click.option("--max-workers", default=32, show_default=True, help="Worker processes per action.")
@click.option("--queue-size", default=64, show_default=True,
              help="Requests that may wait for a worker, per action; beyond it: 503.")
@click.option("--idle-timeout", default=600.0, show_default=True,
              help="Seconds an idle worker stays warm.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def up(project: Path, host: str, port: int, namespace: str, max_workers: int,
       queue_size: int, idle_timeout: float, log_level: str) -> None:
    """Serve the project's actions over HTTP until interrupted.

    \b
    Routes:
      /api/v1/web/{ns}/{pkg}/{action}   OpenWhisk web actions ({ns} may be _)
      /api/my/{pkg}/{action}            the same, in the default namespace
    """
    import uvicorn

    from .runtime import InvokerSettings, PoolSettings
    from .server import ServerSettings, create_app

    _configure_logging(log_level)
    if not (project / "packages").is_dir():
        raise UserError(f"{project.resolve()} has no packages/ folder: pass --project DIR")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listening before uvicorn starts: the printed URL accepts connections at once
        sock.listen(2048)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}; try --port 0") from exc
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    settings = ServerSettings(InvokerSettings(
        pool=PoolSettings(max_workers, queue_size, idle_timeout),
        namespace=namespace, api_host=url,
    ))
    app = create_app(Project(project), settings)
    click.echo(f"streamwhisk serving {project.resolve()} at {url}", err=True)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


@main.command()
@click.argument("action")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="KEY VALUE",
              help="An argument; VALUE is read as JSON when it parses. Repeatable.")
@PROJECT
def invoke(action: str, params: tuple[tuple[str, str], ...], project: Path) -> None:
    """Run ACTION (package/action) once and print its result as JSON.

    \b
    Example:
      streamwhisk invoke chat/simple -p input "Who are you?"
    """
    from .runtime import Invoker

    _configure_logging("warning")
    args = {key: parse_value(value) for key, value in params}

    async def run() -> dict[str, Any]:
        invoker = Invoker(Project(project))
        try:
            return await invoker.invoke(invoker.spec(action), args)
        finally:
            await invoker.close()

    try:
        result = asyncio.run(run())
    except StreamwhiskError as exc:
        raise _fail(exc) from exc
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@main.group()
def config() -> None:
    """Inspect the layered configuration."""


@config.command("dump")
@PROJECT
@click.option("--sources", is_flag=True, help="Show where each value comes from.")
@click.option("--show-secrets", is_flag=True, help="Print secret values instead of ********.")
@click.option("--scope", type=click.Choice(["packages", "tests"]), default="packages",
              show_default=True, help="packages/.env (actions) or tests/.env (tests).")
@click.option("--all-env", is_flag=True, help="Include every process environment variable.")
def config_dump(project: Path, sources: bool, show_secrets: bool, scope: str,
                all_env: bool) -> None:
    """Print KEY=VALUE for the merged configuration, lowest layer first:
    login config < .env < packages/.env or tests/.env < environment.
    """
    try:
        merged = Config.load(project, scope)  # type: ignore[arg-type]
    except StreamwhiskError as exc:
        raise _fail(exc) from exc
    for setting in merged.settings(include_environment=all_env).values():
        line = f"{setting.key}={setting.shown(show_secrets)}"
        if sources:
            chain = " < ".join((*setting.overrides, setting.source))
            line = f"{line}\t# {chain}"
        click.echo(line)


@main.command()
@click.option("--apihost", prompt="API host", help="The OpenWhisk/OpenServerless API URL.")
@click.option("--auth", prompt="AUTH (uuid:key)", hide_input=True,
              help="Credentials; prompted without echo when omitted.")
def login(apihost: str, auth: str) -> None:
    """Save the API host and AUTH in the user's login config (mode 0600, outside projects)."""
    path = write_login({"APIHOST": apihost, "AUTH": auth}, login_file())
    click.echo(f"saved APIHOST and AUTH to {path}", err=True)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
