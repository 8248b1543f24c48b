"""A stream printed in a terminal, as `streamwhisk invoke --stream` and `streamwhisk chat` show
it: the text deltas on stdout as they come, reasoning (dim) and problems (red) on stderr; with
`--json`, each message as it is.

What a model or an action says is shown, never obeyed: its terminal control characters (an
escape that sets the clipboard, a link, a screen clear) are printed in caret notation (`^[`),
and in JSON as `\\u` escapes."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from typing import Any

import click

from .errors import StreamError
from .stream.schema import DONE, ERROR, OUTPUT, RESULT, THINKING

Event = dict[str, Any] | None  # None: a quiet spell
# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F, CSI among them)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1_OR_DEL = re.compile(r"[\x7f-\x9f]")


def shown(text: str) -> str:
    """`text` with its terminal control characters made visible, not obeyed."""
    return _CONTROL.sub(_caret, text.replace("\r\n", "\n"))


def _caret(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"^{chr(code ^ 0x40)}" if code < 0x80 else f"<U+{code:04X}>"


def shown_json(value: Any, indent: int | None = None) -> str:
    """JSON of `value`, non-ASCII kept readable, and no control character raw (JSON escapes
    C0 controls itself; DEL and C1 become `\\u` escapes, still valid JSON)."""
    return _C1_OR_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}",
                          json.dumps(value, ensure_ascii=False, indent=indent))


async def print_stream(events: AsyncIterator[Event], as_json: bool) -> dict[str, Any]:
    """Print the stream; the action's result when it streamed no text (to print as the
    result), else {}. A stream that ends in an error raises StreamError with it."""
    printed = ""  # the last text delta: to end the terminal line if it did not
    async for event in events:
        if event is None:
            continue
        if as_json:
            click.echo(shown_json(event))
        else:
            printed = show_message(event) or printed
        if DONE in event:
            return _finish(event, printed, as_json)
    return {}


def show_message(event: dict[str, Any]) -> str:
    """Show one message; the text it printed on stdout, if any."""
    if OUTPUT in event:
        text = str(event[OUTPUT])
        click.echo(shown(text), nl=False)
        sys.stdout.flush()
        return text
    if THINKING in event:
        click.secho(shown(str(event[THINKING])), nl=False, dim=True, err=True)
    elif ERROR in event and DONE not in event:
        click.secho(shown(f"error: {event[ERROR]}"), fg="red", err=True)
    return ""


def _finish(done: dict[str, Any], printed: str, as_json: bool) -> dict[str, Any]:
    if printed and not printed.endswith("\n"):
        click.echo()
    if ERROR in done:
        raise StreamError(str(done[ERROR]))
    return {} if printed or as_json else dict(done[RESULT])
