"""A reply's `form`, asked at the terminal field by field: the values go back as the page sends
them (`{"input": {"form": {...}}}`): checkboxes as booleans, numbers as numbers, a choice as
one of its options, a file as its base64; a required field is asked again until it has a
value."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Ask = Callable[[str], str]
YES, NO = {"y", "yes", "true", "1"}, {"n", "no", "false", "0", ""}


class Invalid(ValueError):
    pass


def ask_form(fields: list[Any], ask: Ask) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            continue
        values[field["name"]] = ask_field(field, ask)
    return values


def ask_field(field: dict[str, Any], ask: Ask) -> Any:
    kind = str(field.get("type", "text")).lower()
    required = str(field.get("required", "")).lower() == "true" or field.get("required") is True
    options = [str(o.get("value", o.get("label")) if isinstance(o, dict) else o)
               for o in field.get("options") or []]
    label = str(field.get("label") or field["name"])
    hint = {"checkbox": " [y/n]", "number": " (a number)", "date": " (YYYY-MM-DD)",
            "file": " (a file's path)"}.get(kind, f" ({' | '.join(options)})" if options else "")
    while True:
        text = ask(f"{label}{hint}{' *' if required else ''}: ").strip()
        if not text and required and kind != "checkbox":
            click.secho("required: please give a value", fg="yellow", err=True)
            continue
        try:
            return _value(kind, text, options)
        except Invalid as exc:
            click.secho(str(exc), fg="yellow", err=True)


def _value(kind: str, text: str, options: list[str]) -> Any:
    if kind == "checkbox":
        if text.lower() not in YES | NO:
            raise Invalid("answer y or n")
        return text.lower() in YES
    if not text:
        return ""
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise Invalid("a number, please") from None
        return int(number) if number.is_integer() else number
    if kind in ("radio", "select") and options and text not in options:
        raise Invalid(f"one of: {', '.join(options)}")
    if kind == "file":
        path = Path(text).expanduser()
        if not path.is_file():
            raise Invalid(f"no file at {path}")
        return base64.b64encode(path.read_bytes()).decode()
    return text
