"""`streamwhisk action ...` and `streamwhisk url`: `ops action` / `wsk action` and `ops url`
against the project's running `up`, through its OpenWhisk REST API, as the course's lesson 1
uses them (`ops action create reverse reverse.py --web true`). Output as `wsk` prints it:
`ok: created action reverse`, the JSON of a `get`, the result of `invoke -r`."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..annotations import parse_value
from ..names import DEFAULT_PACKAGE, split_action_name
from ..terminal import shown_json
from .common import PROJECT, UserError

if TYPE_CHECKING:
    from ..openwhisk.client import Client

PARAM = click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="KEY VALUE",
                     help="A parameter; VALUE is read as JSON when it parses. Repeatable.")
URL = click.option("--url", metavar="URL", help="The running `streamwhisk up` (default: "
                   "STREAMWHISK_URL, else the project's running up).")


@contextmanager
def running_up(project: Path, url: str | None) -> Iterator[tuple[Client, str]]:
    """A REST client of the project's running `up`, and that up's address."""
    from ..errors import ClusterError
    from ..learner.server import RunningUp

    server = RunningUp.find(project, url, None)
    if not server.key:
        raise UserError(f"no key for the REST API of {server.url}: is `streamwhisk up` running "
                        "in this project? (or pass --url)")
    try:
        with server.client(timeout_s=120) as client:
            yield client, server.url
    except ClusterError as exc:
        raise UserError(str(exc)) from exc


def _parameters(params: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    return [{"key": key, "value": parse_value(value)} for key, value in params]


def _web_annotations(web: str | None) -> list[dict[str, Any]]:
    if web is None:
        return []
    exported = web.lower() in ("true", "yes", "raw")
    return [{"key": "web-export", "value": exported}, {"key": "raw-http",
                                                       "value": web.lower() == "raw"},
            {"key": "final", "value": exported}]


def _exec(file: Path, kind: str | None, main: str | None) -> dict[str, Any]:
    """The action's code: a .py as text, a .zip in base64, as `wsk` sends them."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from exc
    binary = file.suffix == ".zip"
    code = base64.b64encode(data).decode() if binary else data.decode("utf-8", "replace")
    return {"kind": kind or "python:default", "code": code, "binary": binary,
            **({"main": main} if main else {})}


def _qualified(name: str) -> str:
    package, action = split_action_name(name)
    return f"{package}/{action}"


def _shown(name: str) -> str:
    """The name as `wsk` echoes it: without the default package."""
    package, action = split_action_name(name)
    return action if package == DEFAULT_PACKAGE else f"{package}/{action}"


@click.group()
def action() -> None:
    """Create, update, get, invoke, delete and list actions on the project's running `up`,
    as `ops action` and `wsk action` do on a cluster.

    \b
    Examples:
      streamwhisk action create reverse reverse.py --web true
      streamwhisk action invoke reverse -p input hello -r
      streamwhisk url reverse
    """


def _change(overwrite: bool) -> click.Command:
    command = "update" if overwrite else "create"

    @click.argument("name")
    @click.argument("file", required=not overwrite, type=click.Path(path_type=Path),
                    default=None)
    @PARAM
    @click.option("--web", metavar="true|false|raw", help="Make it a web action (or not).")
    @click.option("--kind", metavar="KIND", help="Its runtime (default python:default).")
    @click.option("--main", metavar="NAME", help="Its entry function (default main).")
    @URL
    @PROJECT
    def change(name: str, file: Path | None, params: tuple[tuple[str, str], ...],
               web: str | None, kind: str | None, main: str | None, url: str | None,
               project: Path) -> None:
        body: dict[str, Any] = {}
        if file is not None:
            body["exec"] = _exec(file, kind, main)
        if params:
            body["parameters"] = _parameters(params)
        if web is not None:
            body["annotations"] = _web_annotations(web)
        with running_up(project, url) as (client, _):
            package = split_action_name(name)[0]
            if package != DEFAULT_PACKAGE and client.get("packages", package) is None:
                client.put("packages", package, {})
            if overwrite and file is None and client.get("actions", _qualified(name)) is None:
                raise UserError(f"{_shown(name)} does not exist: give its FILE to create it")
            client.put("actions", _qualified(name), body, overwrite=overwrite)
        click.echo(f"ok: {command}d action {_shown(name)}")

    change.__doc__ = (f"{('Create or update' if overwrite else 'Create')} the action NAME "
                      "(package/name, or a name in the default package) from FILE (.py, or "
                      ".zip with a __main__.py)"
                      + (": without FILE, only its parameters or web flag change." if overwrite
                         else ".")
                      + f"\n\n\b\nExample:\n  streamwhisk action {command} reverse reverse.py "
                        "--web true --param input hello")
    return click.command(command)(change)


action.add_command(_change(overwrite=False))
action.add_command(_change(overwrite=True))


@action.command("get")
@click.argument("name")
@click.option("--url", "as_url", is_flag=True, help="Print its web URL instead.")
@PROJECT
def get(name: str, as_url: bool, project: Path) -> None:
    """Show the action NAME as the REST API describes it (parameter values masked).

    \b
    Example:
      streamwhisk action get reverse --url
    """
    with running_up(project, None) as (client, address):
        found = client.get("actions", _qualified(name))
        if found is None:
            raise UserError(f"the requested resource does not exist: {_shown(name)}")
        click.echo(f"ok: got action {_shown(name)}")
        click.echo(web_url(client, address, name) if as_url else shown_json(found, indent=4))


@action.command("invoke")
@click.argument("name")
@PARAM
@click.option("-b", "--blocking", is_flag=True, help="Wait for the activation, show it.")
@click.option("-r", "--result", is_flag=True, help="Wait, and show only its result.")
@URL
@PROJECT
def invoke_action(name: str, params: tuple[tuple[str, str], ...], blocking: bool, result: bool,
                  url: str | None, project: Path) -> None:
    """Invoke the action NAME on the running `up`, as `wsk action invoke` does: its
    activation id, or with -b the activation, or with -r its result.

    \b
    Example:
      streamwhisk action invoke reverse -p input hello -r
    """
    args = {key: parse_value(value) for key, value in params}
    with running_up(project, url) as (client, _):
        answer = client.invoke(_qualified(name), args, blocking=blocking or result,
                               result=result)
    if result:
        click.echo(shown_json(answer, indent=4))
        return
    click.echo(f"ok: invoked /_/{_shown(name)} with id {answer.get('activationId', '')}")
    if blocking:
        click.echo(shown_json(answer, indent=4))


@action.command("delete")
@click.argument("name")
@URL
@PROJECT
def delete(name: str, url: str | None, project: Path) -> None:
    """Delete the action NAME (one deployed to the running `up`).

    \b
    Example:
      streamwhisk action delete reverse
    """
    with running_up(project, url) as (client, _):
        if not client.delete("actions", _qualified(name)):
            raise UserError(f"the requested resource does not exist: {_shown(name)}")
    click.echo(f"ok: deleted action {_shown(name)}")


@action.command("list")
@URL
@PROJECT
def list_actions(url: str | None, project: Path) -> None:
    """The actions of the running `up`: the project's and those deployed to it.

    \b
    Example:
      streamwhisk action list
    """
    with running_up(project, url) as (client, _):
        found = client.list("actions")
    click.echo("actions")
    for described in found:
        qualified = f"/{described['namespace']}/{described['name']}"
        kind = described.get("exec", {}).get("kind", "")
        click.echo(f"{qualified:<66} private {kind}")


def web_url(client: Client, address: str, name: str) -> str:
    package, action_name = split_action_name(name)
    return f"{address}/api/v1/web/{client.namespace()}/{package}/{action_name}"


@click.command("url")
@click.argument("name")
@URL
@PROJECT
def url_of(name: str, url: str | None, project: Path) -> None:
    """The web URL of the action NAME on the running `up`, as `ops url` prints it.

    \b
    Example:
      curl "$(streamwhisk url reverse)?input=hello"
    """
    with running_up(project, url) as (client, address):
        if client.get("actions", _qualified(name)) is None:
            raise UserError(f"the requested resource does not exist: {_shown(name)}")
        click.echo(web_url(client, address, name))
