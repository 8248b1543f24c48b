"""A stream printed in a terminal, as `streamwhisk invoke --stream` shows it: the text deltas on
stdout as they come, reasoning and problems on stderr; with `--json`, each message as it is."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import click

from .errors import StreamError
from .stream.schema import DONE, ERROR, OUTPUT, RESULT, THINKING

Event = dict[str, Any] | None  # None: a quiet spell


async def print_stream(events: AsyncIterator[Event], as_json: bool) -> dict[str, Any]:
    """Print the stream; the action's result when it streamed no text (to print as the
    result), else {}. A stream that ends in an error raises StreamError with it."""
    printed = ""  # the last text delta: to end the terminal line if it did not
    async for event in events:
        if event is None:
            continue
        if as_json:
            click.echo(json.dumps(event, ensure_ascii=False))
        else:
            printed = _show(event) or printed
        if DONE in event:
            return _finish(event, printed, as_json)
    return {}


def _show(event: dict[str, Any]) -> str:
    """Show one message; the text it printed on stdout, if any."""
    if OUTPUT in event:
        text = str(event[OUTPUT])
        click.echo(text, nl=False)
        sys.stdout.flush()
        return text
    if THINKING in event:
        click.echo(str(event[THINKING]), nl=False, err=True)
    elif ERROR in event and DONE not in event:
        click.echo(f"error: {event[ERROR]}", err=True)
    return ""


def _finish(done: dict[str, Any], printed: str, as_json: bool) -> dict[str, Any]:
    if printed and not printed.endswith("\n"):
        click.echo()
    if ERROR in done:
        raise StreamError(str(done[ERROR]))
    return {} if printed or as_json else dict(done[RESULT])
