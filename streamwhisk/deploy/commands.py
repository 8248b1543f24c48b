"""`streamwhisk deploy`, `undeploy` and `devel`: the lesson's `ops ide deploy` and `devel`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli_common import PROJECT, fail
from ..errors import StreamwhiskError
from .deployer import Deployer, Target

NAMES = click.argument("names", nargs=-1, metavar="[PKG | PKG/ACTION ...]")
APIHOST = click.option("--apihost", metavar="URL",
                       help="The OpenWhisk API host, over APIHOST from the layers and login.")
DRY_RUN = click.option("--dry-run", is_flag=True,
                       help="Print what would be done (secrets masked) and send nothing.")


def _echo(line: str) -> None:
    click.echo(line, err=True)


def _deployer(project: Path, apihost: str | None, dry_run: bool = False) -> Deployer:
    if not (project / "packages").is_dir():
        raise fail(StreamwhiskError(f"{project.resolve()} has no packages/ folder: pass "
                                    "--project DIR"))
    try:
        return Deployer(project, Target.of(project, apihost), _echo, dry_run)
    except StreamwhiskError as exc:
        raise fail(exc) from exc


@click.command()
@NAMES
@PROJECT
@APIHOST
@DRY_RUN
def deploy(names: tuple[str, ...], project: Path, apihost: str | None, dry_run: bool) -> None:
    """Deploy the project's packages and actions (all, or those named) to OpenWhisk, with
    AUTH from the layers (login config < .env < packages/.env < environment).

    \b
    Examples:
      streamwhisk deploy                          everything under packages/
      streamwhisk deploy chat mastrogpt/index     one package, one action
      streamwhisk deploy --dry-run                the plan, nothing sent
      streamwhisk deploy --apihost http://127.0.0.1:8080    into a local `streamwhisk up`
    """
    deployer = _deployer(project, apihost, dry_run)
    try:
        outcome = deployer.deploy(names)
    except StreamwhiskError as exc:
        raise fail(exc) from exc
    finally:
        deployer.close()
    sys.exit(0 if outcome.ok else 1)


@click.command()
@NAMES
@PROJECT
@APIHOST
@DRY_RUN
def undeploy(names: tuple[str, ...], project: Path, apihost: str | None, dry_run: bool) -> None:
    """Remove what `streamwhisk deploy` created from this project on that API host (all, or
    the packages and actions named); what it only updated stays.

    \b
    Examples:
      streamwhisk undeploy
      streamwhisk undeploy chat/simple
    """
    deployer = _deployer(project, apihost, dry_run)
    try:
        outcome = deployer.undeploy(names)
    except StreamwhiskError as exc:
        raise fail(exc) from exc
    finally:
        deployer.close()
    sys.exit(0 if outcome.ok else 1)


@click.command()
@PROJECT
@APIHOST
def devel(project: Path, apihost: str | None) -> None:
    """Deploy the project, then watch packages/ and redeploy what changes (new files and
    actions included; a .env change redeploys everything), until interrupted.

    \b
    Example:
      streamwhisk devel --apihost http://127.0.0.1:8080
    """
    from .devel import watch_and_deploy

    deployer = _deployer(project, apihost)
    try:
        watch_and_deploy(deployer, _echo)
    except StreamwhiskError as exc:
        raise fail(exc) from exc
    except KeyboardInterrupt:
        _echo("devel: stopped")
    finally:
        deployer.close()
