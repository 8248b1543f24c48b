"""`streamwhisk services`: what each platform service of a project is doing, and `reset`."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import MASK, is_secret_name, url_credentials
from .common import PROJECT, SCOPE


@click.group(invoke_without_command=True)
@PROJECT
@SCOPE
@click.option("--show-secrets", is_flag=True, help="Print passwords and keys as they are.")
@click.pass_context
def services(ctx: click.Context, project: Path, scope: str, show_secrets: bool) -> None:
    """The project's platform services (redis, s3, postgres, milvus): running or not, their
    addresses and credentials (masked unless --show-secrets), where their data lives.

    \b
    Examples:
      streamwhisk services                  while `streamwhisk up` runs
      streamwhisk services reset redis      empty Redis's data (up stopped)
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = (project, scope)
        return
    from ..services.manager import statuses

    for status in statuses(project, scope):
        state = "running" if status.running else "stopped"
        click.echo(f"{status.name}: {state}, data in {status.folder}")
        for key, value in status.values.items():
            click.echo(f"  {key}={value if show_secrets else _masked(key, value)}")


@services.command("reset")
@click.argument("name")
@click.pass_context
def services_reset(ctx: click.Context, name: str) -> None:
    """Empty NAME's data (its folder goes; the next start begins afresh).

    \b
    Example:
      streamwhisk services reset s3
    """
    project, scope = ctx.obj
    from ..services.manager import reset

    folder = reset(project, scope, name)
    click.echo(f"{name}: its data is gone ({folder})", err=True)


def _masked(key: str, value: str) -> str:
    if is_secret_name(key):
        return MASK
    for secret in url_credentials(value):
        value = value.replace(secret, MASK)
    return value
