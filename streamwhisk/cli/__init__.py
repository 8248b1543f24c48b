"""`streamwhisk`: nouns and verbs; data on stdout, diagnostics on stderr, user errors exit 1."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, cast

import click

from ..config import Config, Scope, login_file, write_login, write_wskprops
from ..errors import RuntimeUnavailable
from .activation import activation
from .common import (
    DEV_OLLAMA,
    PROJECT,
    SCOPE,
    SERVICES,
    Commands,
    UserError,
    require_packages,
)
from .deploy import deploy, devel, streamer, undeploy
from .invoke import invoke
from .learner import chat, loader, new, user
from .mcp import mcp
from .ollama import ollama
from .services import services
from .wsk import action, url_of


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
@SCOPE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, help="Port; 0 picks a free one.")
@click.option("--namespace", default="guest", show_default=True, help="The local namespace.")
@click.option("--max-workers", default=32, show_default=True, help="Worker processes per action.")
@click.option("--queue-size", default=1000, show_default=True,
              help="Requests that may wait for a worker, per action; beyond it: 503.")
@click.option("--idle-timeout", default=600.0, show_default=True,
              help="Seconds an idle worker stays warm.")
@click.option("--stream-keepalive", default=15.0, show_default=True,
              help="Seconds of silence from a streaming action before a keep-alive is sent.")
@DEV_OLLAMA
@SERVICES
@click.option("--api-key", envvar="STREAMWHISK_API_KEY", default="",
              help="uuid:key credentials of the OpenWhisk REST API; default: AUTH from the "
                   "layers (the login), else a fresh random key per run. Actions annotated "
                   "provide-api-key get it as __OW_API_KEY.")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Another Host name to answer to, when serving beyond loopback (repeat it).")
@click.option("--cors", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Let pages of this origin (or *) call web actions, with OpenWhisk's CORS "
                   "headers; off by default (repeat it).")
@click.option("--header-timeout", default=10.0, show_default=True,
              help="Seconds a client has to send its request headers (then 408).")
@click.option("--body-timeout", default=60.0, show_default=True,
              help="Seconds a client has to send its request body (then 408).")
@click.option("--keep-activations", default=10_000, show_default=True, metavar="N",
              help="Activation records kept (the newest); 0 keeps none.")
@click.option("--activations-mb", default=200, show_default=True, metavar="MB",
              help="At most this much of them, whichever bound comes first.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def up(**options: Any) -> None:
    """Serve the project's actions over HTTP until interrupted.

    \b
    Routes:
      /api/v1/web/{ns}/{pkg}/{action}   OpenWhisk web actions ({ns} may be _)
      /api/my/{pkg}/{action}            the same, in the default namespace
      /web/{ns}/{pkg}/{action}          streamer: NDJSON, or SSE with Accept: text/event-stream
      /api/v1/namespaces/...            OpenWhisk REST subset: deploy, list, invoke, delete
                                        (basic auth: AUTH, or --api-key)
    \b
    Example:
      streamwhisk up --port 8080          with no OLLAMA_HOST set, chats use the dev Ollama
    """
    from .up import UpOptions, serve_project

    serve_project(UpOptions(**options))


main.add_command(deploy)
main.add_command(undeploy)
main.add_command(devel)
main.add_command(streamer)
main.add_command(ollama)
main.add_command(services)
main.add_command(invoke)
main.add_command(action)
main.add_command(activation)
main.add_command(mcp)
main.add_command(url_of)
for command in (chat, new, user, loader):  # what `ops ai` gives a learner
    main.add_command(command)


# the values a login provides on OpenServerless, and the lesson's LLM address
PLATFORM_KEYS = ("AUTH", "APIHOST", "OLLAMA_HOST", "OPSDEV_HOST", "OPSDEV_USERNAME")


@main.group()
def config() -> None:
    """Inspect the layered configuration."""


@config.command("dump")
@PROJECT
@click.option("--sources", is_flag=True, help="Show where each value comes from.")
@click.option("--show-secrets", is_flag=True, help="Print secret values instead of ********.")
@SCOPE
@click.option("--all-env", is_flag=True, help="Include every process environment variable.")
def config_dump(project: Path, sources: bool, show_secrets: bool, scope: str,
                all_env: bool) -> None:
    """Print KEY=VALUE for the merged configuration, lowest layer first:
    login config < .env < packages/.env or tests/.env < environment; the variables the
    actions use are shown wherever they come from, and named when nothing sets them.

    \b
    Examples:
      streamwhisk config dump --sources          each value and the layers it came through
      streamwhisk config dump --scope tests      what `streamwhisk test` sees
    """
    from ..project import Project

    merged = Config.load(project, cast(Scope, scope))
    used = Project(project, cast(Scope, scope)).variables() if (
        project / "packages").is_dir() else {}
    wanted = {*used, *PLATFORM_KEYS}
    shown = merged.settings(include_environment=all_env, wanted=wanted)
    for setting in shown.values():
        line = f"{setting.key}={setting.shown(show_secrets)}"
        if sources:
            chain = " < ".join((*setting.overrides, setting.source))
            line = f"{line}\t# {chain}"
        click.echo(line)
    for variable in sorted(set(used) - set(shown)):
        click.echo(f"{variable} is not set (used by {', '.join(used[variable])})", err=True)
    if not shown:
        click.echo(f"nothing is set: no login config, .env or {scope}/.env value, and none of "
                   f"the variables the actions use ({', '.join(sorted(wanted))}) in the "
                   "environment", err=True)


@main.command()
@click.option("--apihost", prompt="API host", help="The OpenWhisk/OpenServerless API URL.")
@click.option("--auth", prompt="AUTH (uuid:key)", hide_input=True,
              help="Credentials; prompted without echo when omitted.")
def login(apihost: str, auth: str) -> None:
    """Save the API host and AUTH in the user's login config and in ~/.wskprops (both mode
    0600, outside projects; ~/.wskprops keeps its other lines), as `ops -login` does.

    \b
    Example:
      streamwhisk login --apihost https://openserverless.example --auth UUID:KEY
    """
    values = {"APIHOST": apihost, "AUTH": auth}
    path = write_login(values, login_file())
    props = write_wskprops(values)
    click.echo(f"saved APIHOST and AUTH to {path} and {props}", err=True)


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@PROJECT
@SERVICES
@DEV_OLLAMA
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(project: Path, services: str, dev_ollama: str, pytest_args: tuple[str, ...]) -> None:
    """Run the project's pytest suite as OpenServerless's tooling would: its actions served on
    a free port (OPSDEV_HOST), an `ops -config -dump` with the tests' configuration, the dev
    Ollama's CA trusted, the services it uses started (with data of the tests' own). With
    `always`, their values win over tests/.env, which names the devcontainer's hosts.
    Arguments after the options go to pytest.

    \b
    Examples:
      streamwhisk test
      streamwhisk test --services always --dev-ollama always
      streamwhisk test tests/chat -k stream -x
    """
    from .testrun import TestOptions, run_tests

    try:
        code = run_tests(project, pytest_args, TestOptions(services, dev_ollama))
    except (RuntimeError, TimeoutError) as exc:  # its server did not start: say why
        raise UserError(str(exc)) from exc
    sys.exit(code)


@main.command()
@PROJECT
@SERVICES
@DEV_OLLAMA
def shell(project: Path, services: str, dev_ollama: str) -> None:
    """An interactive Python with the tests' configuration (login config < .env < tests/.env)
    in os.environ, as the lesson's `ops ai cli`.

    \b
    Example:
      streamwhisk shell
      >>> import os; os.getenv("OLLAMA_HOST")
    """
    from .testrun import TestOptions, run_shell

    sys.exit(run_shell(project, TestOptions(services, dev_ollama)))


@main.command()
@PROJECT
@click.option("--tests", is_flag=True, help="Also the runtime `streamwhisk test` runs in.")
@click.option("--all-kinds", is_flag=True, help="Also every cluster kind (python:3.11, "
              "python:3.12, ...) this machine has a Python for.")
def runtimes(project: Path, tests: bool, all_kinds: bool) -> None:
    """Build (first time only; cached) and list the runtimes the project's actions run in: a
    Python per kind with OpenServerless's common libraries, plus each action folder's
    requirements.txt. `up` does the same at start; run it before going offline.

    \b
    Example:
      streamwhisk runtimes --tests
    """
    from ..assembly import Run, RunChoices
    from ..runtime.runtimes import Runtimes
    from .testrun import tests_runtime
    from .up import report_actions

    echo = functools.partial(click.echo, err=True)
    assembled = Run(RunChoices(require_packages(project)))
    report_actions(assembled.project, Runtimes(progress=echo, warn=echo), unset=False)
    if tests:
        click.echo(f"  tests: {tests_runtime(project.resolve()).describe()}", err=True)
    if all_kinds:
        from ..runtime.environments import cluster_kinds

        built = Runtimes(progress=echo, warn=echo)
        for kind in cluster_kinds():
            try:
                click.echo(f"  {kind}: {built.build(kind).describe()}", err=True)
            except RuntimeUnavailable as exc:
                click.echo(f"  {kind}: not on this machine ({exc})", err=True)
