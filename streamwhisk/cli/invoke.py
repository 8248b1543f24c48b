"""`streamwhisk invoke ACTION`: run an action once, here, without a server (as `wsk action
invoke` / `ops invoke` run one on the cluster), with `-p`, `-P` and `key=value` arguments;
`--stream` prints what it streams as it comes. What the action prints goes to stderr as it
comes (on an error, its traceback with file and line); with `--services`, the project's
services run for it as under `up`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import click

from ..annotations import parse_value
from ..config import Scope
from ..logsetup import configure_logging
from ..terminal import shown, shown_json
from .common import DEV_OLLAMA, PROJECT, SCOPE, UserError

if TYPE_CHECKING:
    from ..project import ActionSpec
    from ..runtime import Invoker


@click.command()
@click.argument("action")
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE]...")
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
@click.option("--services", default="none", show_default=True,
              metavar="auto|always|all|none|NAME,...",
              help="The platform services to run for it, as `up --services` (auto: those its "
                   "#--param names and no layer sets).")
def invoke(action: str, pairs: tuple[str, ...], params: tuple[tuple[str, str], ...],
           param_file: TextIO | None, streaming: bool, as_json: bool, project: Path, scope: str,
           dev_ollama: str, services: str) -> None:
    """Run ACTION (package/action) once and print its result as JSON; what it prints goes to
    stderr. KEY=VALUE is `-p KEY VALUE`.

    \b
    Examples:
      streamwhisk invoke chat/simple input="Who are you?"
      streamwhisk invoke chat/countdown -p input 5 --stream
      streamwhisk invoke mastrogpt/display -P chess.json
      streamwhisk invoke cache/counter --services auto
    """
    from ..activations.journal import Journal, journal_file
    from ..activations.recorder import Recorder
    from ..assembly import Run, RunChoices
    from ..hosting.serving import beside
    from ..runtime import Invoker
    from .up import announce_dev_ollama_of

    configure_logging("warning")
    show_what_it_prints()
    args = {**_params_file(param_file), **_pairs(pairs),
            **{key: parse_value(value) for key, value in params}}
    # no server runs here, so no OPSDEV_HOST: an action that needs it says so
    assembled = Run(RunChoices(project, cast(Scope, scope), services, dev_ollama))

    async def run() -> dict[str, Any]:
        running = assembled.services
        with contextlib.ExitStack() as stack:
            stack.callback(running.stop)
            if running.chosen:
                running.claim()
                running.start_in_background()
                await asyncio.to_thread(running.ready)
                for name, why in running.failed.items():
                    click.echo(f"service {name} did not start: {why}", err=True)
            companions = [assembled.serve_dev_ollama()] if assembled.wants_dev_ollama else []
            announce_dev_ollama_of(assembled.report(), dev_ollama)
            async with beside(companions, "warning"):
                return await invoke_once()

    async def invoke_once() -> dict[str, Any]:
        journal = Journal(journal_file(assembled.project.root))
        recorder = Recorder(journal, assembled.choices.namespace)
        invoker = Invoker(assembled.project, recorder=recorder)
        try:
            spec = invoker.spec(action)
            if streaming:
                return await _print_stream(invoker, spec, args, as_json)
            return await invoker.invoke(spec, args)
        finally:
            await invoker.close()
            journal.close()  # what was recorded is written before the command ends

    result = asyncio.run(run())
    if result:
        click.echo(shown_json(result, indent=2))
    if isinstance(result, dict) and "error" in result:  # the action's own error, as on OpenWhisk
        raise UserError(f"{action} answered an error: {shown(_one_line(result['error']))}")


def show_what_it_prints() -> None:
    """The action's own lines (its prints, its traceback) on stderr, each as it comes."""
    lines = logging.getLogger("streamwhisk.action")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    lines.addHandler(handler)
    lines.setLevel(logging.INFO)
    lines.propagate = False


def _pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` words, as `-p key value`."""
    found = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise UserError(f"{pair!r}: give arguments as KEY=VALUE (or -p KEY VALUE)")
        found[key] = parse_value(value)
    return found


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
    from ..activations.recorder import follow_stream
    from ..stream import StreamSession
    from ..terminal import print_stream

    session = await StreamSession.open(
        lambda relay, announced: invoker.start(spec, args, relay, announced, streamed=True))
    follow_stream(session)
    return await print_stream(session.events(), as_json)


