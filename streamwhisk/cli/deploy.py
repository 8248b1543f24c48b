"""The commands that reach a cluster: `deploy`, `undeploy` and `devel` (the lesson's `ops ide
deploy` and `ops ide devel`), and `streamer`, the streamer alone in front of a real OpenWhisk."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import PROJECT, require_packages, stop_on_signals

if TYPE_CHECKING:  # the deployer (httpx, the MinIO client, ...) is imported when used
    from ..deploy.deployer import Deployer, Outcome

NAMES = click.argument("names", nargs=-1, metavar="[PKG | PKG/ACTION ...]")
APIHOST = click.option("--apihost", metavar="URL",
                       help="The OpenWhisk API host, over APIHOST from the layers and login.")
DRY_RUN = click.option("--dry-run", is_flag=True,
                       help="Print what would be done (secrets masked) on stdout; send nothing.")


def _echo(line: str) -> None:
    click.echo(line, err=True)


def _deployer(project: Path, apihost: str | None, dry_run: bool = False) -> Deployer:
    from ..deploy.deployer import Deployer, Target

    return Deployer(require_packages(project), Target.of(project, apihost), _echo, dry_run,
                    plan=click.echo)


@click.command()
@NAMES
@PROJECT
@APIHOST
@DRY_RUN
def deploy(names: tuple[str, ...], project: Path, apihost: str | None, dry_run: bool) -> None:
    """Deploy the project's packages and actions (all, or those named) to OpenWhisk, with
    AUTH from the layers (login config < .env < packages/.env < environment); deploying the
    whole project also uploads web/ to the static bucket (S3_API_URL, S3_ACCESS_KEY,
    S3_SECRET_KEY, S3_BUCKET_STATIC from the same layers), as `ops ide deploy` does.

    \b
    Examples:
      streamwhisk deploy                          everything under packages/
      streamwhisk deploy chat mastrogpt/index     one package, one action
      streamwhisk deploy --dry-run                the plan, nothing sent
      streamwhisk deploy --apihost http://127.0.0.1:8080    into a local `streamwhisk up`
    """
    _carry_out(_deployer(project, apihost, dry_run), lambda d: d.deploy(names))


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
    _carry_out(_deployer(project, apihost, dry_run), lambda d: d.undeploy(names))


def _carry_out(deployer: Deployer, flow: Callable[[Deployer], Outcome]) -> None:
    """Run a deploy or undeploy; exit 1 when anything failed."""
    try:
        outcome = flow(deployer)
    finally:
        deployer.close()
    sys.exit(0 if outcome.ok else 1)


@click.command()
@PROJECT
@APIHOST
def devel(project: Path, apihost: str | None) -> None:
    """Deploy the project, then watch packages/ and redeploy what changes (new files and
    actions included; a .env change redeploys everything; a change in web/ uploads the site
    again), until interrupted.

    \b
    Example:
      streamwhisk devel --apihost http://127.0.0.1:8080
    """
    from ..deploy.devel import watch_and_deploy

    stop_on_signals()
    deployer = _deployer(project, apihost)
    try:
        watch_and_deploy(deployer, _echo)
    except KeyboardInterrupt:
        _echo("devel: stopped")
    finally:
        deployer.close()


@click.command()
@click.option("--apihost", metavar="URL", help="The OpenWhisk API host (default: APIHOST "
              "from the layers and login).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8090, show_default=True, help="Port; 0 picks a free one.")
@click.option("--stream-host", default="", metavar="ADDRESS",
              help="The address the cluster's actions connect to (STREAM_HOST); default: "
                   "--stream-bind, or 127.0.0.1.")
@click.option("--stream-bind", default="", metavar="ADDRESS",
              help="Where relay ports listen; default: --stream-host, or 127.0.0.1. Bind an "
                   "address only the cluster reaches.")
@click.option("--auth", envvar="STREAMWHISK_STREAMER_AUTH", default="", metavar="UUID:KEY",
              help="Credentials sent with each invocation (default: AUTH from the layers); a "
                   "`streamwhisk up` behind it wants them to take the stream address.")
@click.option("--stream-keepalive", default=15.0, show_default=True,
              help="Seconds of silence from an action before a keep-alive is sent.")
@PROJECT
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def streamer(apihost: str | None, host: str, port: int, stream_host: str, stream_bind: str,
             auth: str, stream_keepalive: float, project: Path, log_level: str) -> None:
    """The streamer alone, in front of a real OpenWhisk: POST /web/{ns}/{pkg}/{action}
    invokes that web action with STREAM_HOST/STREAM_PORT and relays what it sends (NDJSON, or
    SSE with Accept: text/event-stream). Stateless: run several behind a load balancer.

    \b
    Example:
      streamwhisk streamer --apihost https://openwhisk.example --stream-host 10.0.0.5
    """
    from ..config import Config
    from ..hosting.serving import Served, listen, run, url_of
    from ..logsetup import configure_logging
    from ..openwhisk.client import api_base
    from ..openwhisk.remote import RemoteSettings, create_remote_app
    from ..stream import StreamSettings

    configure_logging(log_level)
    stop_on_signals()
    config = Config.load(project, "packages")
    target = api_base(apihost or config.get("APIHOST") or "")
    sock = listen(host, port)
    bind = stream_bind or stream_host or "127.0.0.1"
    settings = RemoteSettings(target, auth or config.get("AUTH") or "", StreamSettings(
        host=bind, advertise=stream_host or bind, keepalive_s=stream_keepalive))
    _echo(f"streamwhisk streamer at {url_of(sock)}, in front of {target}; actions connect to "
          f"{settings.stream.advertise} (relays listen on {bind})")
    run(Served(create_remote_app(settings), sock), [], log_level)
