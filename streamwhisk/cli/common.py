"""What every `streamwhisk` command shares: the common options and the user error."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ..errors import ProjectError, StreamwhiskError

PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    envvar="STREAMWHISK_PROJECT", show_default=True,
    help="The project directory (holds packages/).",
)
SCOPE = click.option(
    "--scope", type=click.Choice(["packages", "tests"]), default="packages", show_default=True,
    help="Which .env layer applies: packages/.env (running, deploying) or tests/.env (tests).",
)


DEV_OLLAMA = click.option(
    "--dev-ollama", type=click.Choice(["auto", "always", "never"]), default="auto",
    show_default=True,
    help="Start the bundled dev Ollama and point OLLAMA_HOST at it: auto = only when no "
         "configuration layer sets OLLAMA_HOST.",
)


SERVICES = click.option(
    "--services", default="auto", show_default=True, metavar="auto|always|all|none|NAME,...",
    help="Which platform services to start (redis, s3, postgres, milvus): auto = each one an "
         "action's #--param names and no layer sets; always = those, their values over every "
         "layer; all; none; or their names.")


class UserError(click.ClickException):
    """Exit 1 with a one-line reason."""


class Commands(click.Group):
    """The group every command runs in: a StreamwhiskError anywhere below (a configuration
    mistake, a port in use, an action that cannot run) ends it with its one-line message and
    exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StreamwhiskError as exc:
            raise UserError(str(exc)) from exc


def require_packages(project: Path) -> Path:
    """The project folder, which must hold packages/ (the actions)."""
    if not (project / "packages").is_dir():
        raise ProjectError(f"{project.resolve()} has no packages/ folder: pass --project DIR")
    return project


def stop_on_signals() -> None:
    """SIGINT and SIGTERM both stop a long-running command, also one started in the
    background, where the shell starts it with SIGINT ignored: each raises KeyboardInterrupt,
    which the command ends on quietly (uvicorn takes them over while it serves)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, interrupt)
