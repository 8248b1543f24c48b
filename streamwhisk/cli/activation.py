"""`streamwhisk activation list|get|logs|result|poll|replay`: the project's activations as
`wsk activation` and `ops activation` show a cluster's, read from the project's journal (what
`up`, `invoke` and `test`'s server recorded); `replay` runs one again on the running `up`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..annotations import parse_value
from ..terminal import show_message, shown, shown_json
from .common import PROJECT, UserError

if TYPE_CHECKING:
    from ..activations.journal import Journal

POLL_INTERVAL_S = 0.5
STATUS_WORDS = {0: "success", 1: "application error", 2: "developer error",
                3: "internal error"}
ID_OR_LAST = click.argument("activation_id", metavar="ID", required=False)
LAST = click.option("--last", "-l", is_flag=True, help="The newest activation (of NAME, when "
                    "an ID is not given but a name is).")


def _journal(project: Path) -> Journal:
    from ..activations.journal import Journal, journal_file  # sqlite3: when a command runs

    return Journal(journal_file(project))


def _record(journal: Journal, activation_id: str | None, last: bool) -> dict[str, Any]:
    """The activation named, or with --last the newest (an ID given with --last names the
    action whose newest is wanted, as `wsk activation get --last NAME` does)."""
    if last or not activation_id:
        if not last:
            raise UserError("give an activation ID, or --last for the newest")
        newest = journal.recent(activation_id, limit=1)
        if not newest:
            raise UserError("no activation is recorded" + (
                f" for {activation_id}" if activation_id else "") + " in this project yet")
        activation_id = str(newest[0]["activationId"])
    found = journal.get(activation_id)
    if found is None:
        raise UserError(f"no activation {activation_id} in this project's journal ("
                        f"{journal.path}); `streamwhisk activation list` shows the recorded "
                        "ones")
    return found


@click.group()
def activation() -> None:
    """The project's activations: what each invocation was given, printed, answered; as
    `wsk activation` shows a cluster's.

    \b
    Examples:
      streamwhisk activation list
      streamwhisk activation logs --last
      streamwhisk activation poll chat/stateless
      streamwhisk activation replay 44794bd6aab74415b4e42a308d880e5b -p input "again"
    """


@activation.command("list")
@click.argument("name", required=False)
@click.option("--limit", "-l", default=30, show_default=True, help="How many (at most 200).")
@click.option("--skip", "-s", default=0, help="Skip the newest N.")
@click.option("--json", "as_json", is_flag=True, help="The records' JSON, as the REST API "
              "lists them.")
@PROJECT
def list_activations(name: str | None, limit: int, skip: int, as_json: bool,
                     project: Path) -> None:
    """The newest activations (of NAME: an action, or package/action), newest first.

    \b
    Example:
      streamwhisk activation list chat/stateless --limit 5
    """
    found = _journal(project).recent(name, min(limit, 200), skip)
    if as_json:
        click.echo(shown_json(found, indent=4))
        return
    click.echo(f"{'Datetime':<19} {'Activation ID':<32} {'Kind':<16} {'Start':<5} "
               f"{'Duration':<10} {'Status':<17} Entity")
    for record in found:
        notes = {a["key"]: a["value"] for a in record.get("annotations", [])}
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["start"] / 1000))
        start = "cold" if "initTime" in notes else "warm"
        status = STATUS_WORDS.get(record.get("statusCode", 3), "internal error")
        entity = f"{notes.get('path', record['name'])}:{record.get('version', '0.0.1')}"
        click.echo(f"{when:<19} {record['activationId']:<32} {notes.get('kind')!s:<16} "
                   f"{start:<5} {_duration(record['duration']):<10} {status:<17} {entity}")


@activation.command("get")
@ID_OR_LAST
@LAST
@PROJECT
def get(activation_id: str | None, last: bool, project: Path) -> None:
    """The whole record of activation ID, as `wsk activation get` prints it.

    \b
    Examples:
      streamwhisk activation get 44794bd6aab74415b4e42a308d880e5b
      streamwhisk activation get --last chat/stateless
    """
    record = _record(_journal(project), activation_id, last)
    click.echo(f"ok: got activation {record['activationId']}")
    click.echo(shown_json(record, indent=4))


@activation.command("logs")
@ID_OR_LAST
@LAST
@click.option("--strip", "-r", is_flag=True, help="Only what was printed: no time, no stream.")
@PROJECT
def logs(activation_id: str | None, last: bool, strip: bool, project: Path) -> None:
    """What activation ID printed, each line with its time and stream.

    \b
    Example:
      streamwhisk activation logs --last --strip
    """
    for line in _record(_journal(project), activation_id, last)["logs"]:
        click.echo(shown(line.split(": ", 1)[-1] if strip else line))


@activation.command("result")
@ID_OR_LAST
@LAST
@PROJECT
def result(activation_id: str | None, last: bool, project: Path) -> None:
    """What activation ID answered.

    \b
    Example:
      streamwhisk activation result --last chat/simple
    """
    record = _record(_journal(project), activation_id, last)
    click.echo(shown_json(record["response"]["result"], indent=4))


@activation.command("poll")
@click.argument("name", required=False)
@click.option("--exit", "exit_after", type=float, default=0.0, metavar="SECONDS",
              help="Stop after SECONDS (default: until Ctrl-C).")
@PROJECT
def poll(name: str | None, exit_after: float, project: Path) -> None:
    """Follow new activations (of NAME) and their logs as they are recorded, as
    `ops activation poll` does beside `ops ide devel`.

    \b
    Example:
      streamwhisk activation poll chat/stateless
    """
    journal = _journal(project)
    click.echo("Enter Ctrl-c to exit.\nPolling for activation logs\n")
    seen = journal.newest_seq()
    stop = time.monotonic() + exit_after if exit_after else None
    try:
        while stop is None or time.monotonic() < stop:
            for seq, activation_id in journal.ids_after(seen, name):
                seen = seq
                record = journal.get(activation_id)
                if record is not None:
                    click.echo(f"\nActivation: '{record['name']}' ({activation_id})")
                    click.echo(shown_json(record["logs"], indent=4))
            time.sleep(POLL_INTERVAL_S)
    except KeyboardInterrupt:
        pass


@activation.command("replay")
@click.argument("activation_id", metavar="ID")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="KEY VALUE",
              help="Change an argument (VALUE read as JSON when it parses). Repeatable.")
@click.option("--url", metavar="URL", help="The running `streamwhisk up` (default: "
              "STREAMWHISK_URL, else the project's running up).")
@PROJECT
def replay(activation_id: str, params: tuple[tuple[str, str], ...], url: str | None,
           project: Path) -> None:
    """Run activation ID again on the running `up`, with the arguments and `state` it was
    given (-p changes one); a streamed one streams again. The new activation records which
    one it replays.

    \b
    Example:
      streamwhisk activation replay 44794bd6aab74415b4e42a308d880e5b -p input "once more"
    """
    from ..activations.recorder import REPLAY_HEADER
    from ..learner.server import RunningUp

    record = _record(_journal(project), activation_id, False)
    notes = {a["key"]: a["value"] for a in record.get("annotations", [])}
    args = {**record.get("trace", {}).get("args", {}),
            **{key: parse_value(value) for key, value in params}}
    action = str(notes["path"]).split("/", 1)[1]
    headers = {REPLAY_HEADER: activation_id}
    server = RunningUp.find(project, url, None)
    with server.client(timeout_s=None) as client:
        if "stream" in notes:  # through the streamer, as a page sends it: the request's
            printed = ""        # own __ow_ values are the new request's to give
            sent = {k: v for k, v in args.items() if not k.startswith("__ow_")}
            for message in client.stream(action, sent, headers=headers):
                if message.get("done"):
                    if message.get("error"):
                        raise UserError(f"{action} answered an error: {message['error']}")
                    if not printed:
                        click.echo(shown_json(message.get("result"), indent=2))
                    break
                printed = show_message(message) or printed
            click.echo("" if not printed or printed.endswith("\n") else "\n", nl=False)
            return
        if not server.key:
            raise UserError(f"no key for the REST API of {server.url}: is `streamwhisk up` "
                            "running in this project? (or pass --url)")
        answer = client.invoke(action, args, result=True, headers=headers)
    click.echo(shown_json(answer, indent=2))
    if isinstance(answer, dict) and "error" in answer:
        raise UserError(f"{action} answered an error: {json.dumps(answer['error'])}")


def _duration(ms: int) -> str:
    """As `wsk activation list` writes it.

    >>> _duration(35), _duration(1234)
    ('35ms', '1.234s')
    """
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.3f}s"
