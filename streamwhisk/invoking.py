"""`streamwhisk invoke ACTION`: run an action once, here, without a server (as `wsk action
invoke` / `ops invoke` run one on the cluster), with `-p` and `-P` arguments; `--stream`
prints what it streams as it comes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from .annotations import parse_value
from .cli_common import DEV_OLLAMA, PROJECT, SCOPE, UserError
from .logsetup import configure_logging
from .startup import project_and_llm
from .terminal import shown, shown_json

if TYPE_CHECKING:
    from .project import ActionSpec
    from .runtime import Invoker


@click.command()
@click.argument("action")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="KEY VALUE",
              help="An argument; VALUE is read as JSON when it parses. Repeatable.")
@click.option("-P", "--param-file", "param_file", type=click.File("r"), metavar="FILE",
              help="The arguments from a JSON object in FILE (- reads stdin), as `wsk` and "
                   "`ops` read it; -p values go over them.")
@click.option("--stream", "streaming", is_flag=True,
              help="Give the action a stream socket and print what it sends as it arrives.")
@click.option("--json", "as_json", is_flag=True,
              help="With --stream: print each message as a JSON line instead of the text.")
@PROJECT
@SCOPE
@DEV_OLLAMA
def invoke(action: str, params: tuple[tuple[str, str], ...], param_file: TextIO | None,
           streaming: bool, as_json: bool, project: Path, scope: str, dev_ollama: str) -> None:
    """Run ACTION (package/action) once and print its result as JSON.

    \b
    Examples:
      streamwhisk invoke chat/simple -p input "Who are you?"
      streamwhisk invoke chat/countdown -p input 5 --stream
      streamwhisk invoke mastrogpt/display -P chess.json
    """
    from .hosting.serving import beside
    from .runtime import Invoker, InvokerSettings

    configure_logging("warning")
    args = {**_params_file(param_file), **{key: parse_value(value) for key, value in params}}

    async def run() -> dict[str, Any]:
        # no server runs here, so no OPSDEV_HOST: an action that needs it says so
        platform = {"OPSDEV_USERNAME": InvokerSettings().namespace}
        actions, companions = project_and_llm(project, scope, dev_ollama, platform)
        async with beside(companions, "warning"):
            invoker = Invoker(actions)
            try:
                spec = invoker.spec(action)
                if streaming:
                    return await _print_stream(invoker, spec, args, as_json)
                return await invoker.invoke(spec, args)
            finally:
                await invoker.close()

    result = asyncio.run(run())
    if result:
        click.echo(shown_json(result, indent=2))
    if isinstance(result, dict) and "error" in result:  # the action's own error, as on OpenWhisk
        raise UserError(f"{action} answered an error: {shown(_one_line(result['error']))}")


def _params_file(source: TextIO | None) -> dict[str, Any]:
    if source is None:
        return {}
    name = "stdin" if source.name == "<stdin>" else source.name
    try:
        params = json.loads(source.read())
    except ValueError as exc:
        raise UserError(f"-P {name}: not JSON ({exc})") from exc
    if not isinstance(params, dict):
        raise UserError(f"-P {name}: the parameters are a JSON object, {{\"key\": value}}")
    return params


def _one_line(error: Any) -> str:
    return error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)


async def _print_stream(invoker: Invoker, spec: ActionSpec, args: dict[str, Any],
                        as_json: bool) -> dict[str, Any]:
    from .stream import StreamSession
    from .terminal import print_stream

    session = await StreamSession.open(
        lambda relay, announced: invoker.start(spec, args, relay, announced))
    return await print_stream(session.events(), as_json)


