"""`streamwhisk chat ACTION`: a terminal chat with a running `up`, as `ops ai chat` is with the
cluster. The chat opens as `ops ai chat` and the platform's page open it: with an empty
invocation (`{}`), whose answer (a welcome, a usage, a form) comes first. Each message goes to
the streamer, as the page sends it (`input`, the `state` the last reply gave, a file), and the
reply is printed as it streams; a reply's `form` is asked field by field, its `options`
listed, what only a display shows printed as JSON. `@path` in a message sends that file: into
the project's object store when its S3 service runs (the message then names it `@key`, as
`ops ai chat` does), else inline in base64, as the page attaches one. A `state` streamed during
a reply is kept unless the result brings a non-empty one (the platform page's rule).

Ctrl-C stops the reply being streamed (the connection closes, so the action's next send
fails and its LLM request ends); Ctrl-C or Ctrl-D at the prompt leaves."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import ChatError
from ..openwhisk.client import Client
from ..services.manager import statuses
from ..stream.schema import DONE, ERROR, RESULT, STATE
from ..terminal import show_message, shown, shown_json
from .forms import ask_form

FILE_REFERENCE = re.compile(r"(?<!\S)@(\S+)")
OWN_FIELDS = {"output", "state", "streaming", "form", "options", "error"}
Ask = Callable[[str], str]


@dataclass
class Files:
    """Where `@path` files go: the project's running object store, or inline."""

    store: dict[str, str] | None  # the S3 service's values, when it runs

    @classmethod
    def of(cls, project: Path, inline: bool) -> Files:
        running = next((s for s in statuses(project, "packages") if s.name == "s3"
                        and s.running), None)
        return cls(None if inline or running is None else running.values)

    def attach(self, text: str) -> tuple[str, dict[str, Any] | None]:
        """The message with its `@path` sent, and what goes with it as `file`."""
        found = [m for m in FILE_REFERENCE.finditer(text) if Path(m.group(1)).expanduser()
                 .is_file()]
        if not found:
            return text, None
        if len(found) > 1:
            raise ChatError("one file per message: send the others in the next ones")
        path = Path(found[0].group(1)).expanduser()
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if self.store is None:
            data = base64.b64encode(path.read_bytes()).decode()
            return text, {"name": path.name, "type": media, "data": data}
        from minio import Minio

        bucket, key = self.store["S3_BUCKET_DATA"], f"uploads/{path.name}"
        Minio(f"{self.store['S3_HOST']}:{self.store['S3_PORT']}", self.store["S3_ACCESS_KEY"],
              self.store["S3_SECRET_KEY"], secure=False, region="us-east-1").fput_object(
            bucket, key, str(path), content_type=media)
        message = text[:found[0].start()] + "@" + key + text[found[0].end():]
        return message, {"name": path.name, "type": media, "bucket": bucket, "key": key}


@dataclass
class Chat:
    client: Client  # the running up's
    action: str
    files: Files
    as_json: bool = False
    state: Any = None

    def open(self, ask: Ask) -> None:
        """The chat's opening: an empty invocation, and the form its answer may ask for."""
        self._follow(self._reply_to({}), ask)

    def send(self, text: str, ask: Ask) -> None:
        """One turn, and the turns a form in its reply asks for."""
        message, file = self.files.attach(text)
        self._follow(self._reply_to({"input": message, **({"file": file} if file else {})}),
                     ask)

    def _follow(self, body: dict[str, Any] | None, ask: Ask) -> None:
        while body is not None and isinstance(body.get("form"), list):
            values = ask_form(body["form"], ask)
            body = self._reply_to({"input": {"form": values}})

    def _reply_to(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if self.state is not None:
            request["state"] = self.state
        streamed = ""
        try:
            for message in self.client.stream(self.action, request):
                if self.as_json:
                    click.echo(shown_json(message))
                if STATE in message and DONE not in message:
                    self.state = message[STATE]
                if DONE in message:
                    return self._finish(message, streamed)
                if not self.as_json:
                    streamed += show_message(message)
        except KeyboardInterrupt:
            click.echo("\n(stopped)", err=True)
        return None

    def _finish(self, done: dict[str, Any], streamed: str) -> dict[str, Any] | None:
        if ERROR in done:
            click.secho(f"{'' if streamed.endswith(chr(10)) or not streamed else chr(10)}"
                        f"error: {shown(str(done[ERROR]))}", fg="red", err=True)
            return None
        result = done.get(RESULT) or {}
        body = result.get("body", result) if isinstance(result, dict) else result
        if not isinstance(body, dict):
            body = {"output": body}
        if body.get("state"):  # an empty or absent one keeps what was streamed
            self.state = body["state"]
        if self.as_json:
            return body
        if not streamed and isinstance(body.get("output"), str):
            streamed = body["output"]
            click.echo(shown(streamed), nl=False)
        if streamed and not streamed.endswith("\n"):
            click.echo()
        self._show_fields(body)
        return body

    @staticmethod
    def _show_fields(body: dict[str, Any]) -> None:
        options = body.get("options")
        if isinstance(options, str):
            try:
                options = json.loads(options)
            except ValueError:
                options = None
        if isinstance(options, dict):
            options = options.get("options")
        if isinstance(options, list) and options:
            click.secho("options: " + shown(" | ".join(map(str, options))), fg="cyan")
        others = {k: v for k, v in body.items() if k not in OWN_FIELDS}
        if others:
            click.secho("display: " + shown_json(others), fg="cyan")
        if body.get("error"):
            click.secho(shown(f"error: {body['error']}"), fg="red", err=True)
