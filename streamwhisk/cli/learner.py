"""The `ops ai` commands, as streamwhisk's: `chat`, `new`, `user`, `loader`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from ..paths import data_root
from .common import PROJECT

URL = click.option("--url", metavar="URL", help="The running `streamwhisk up` (default: "
                   "STREAMWHISK_URL, else the project's running up, else "
                   "http://127.0.0.1:8080).")
AUTH = click.option("--auth", metavar="UUID:KEY", help="Its REST API's key (default: AUTH "
                    "from the layers, else the key up made for a run on that port).")


@click.command()
@click.argument("action")
@URL
@PROJECT
@click.option("--json", "as_json", is_flag=True, help="Print each message as it comes, raw.")
@click.option("--inline", is_flag=True, help="Send @files in base64 even when the project's "
              "object store runs.")
@click.argument("first", nargs=-1)
def chat(action: str, url: str | None, project: Path, as_json: bool, inline: bool,
         first: tuple[str, ...]) -> None:
    """Chat with ACTION (package/action; a bare NAME is NAME/NAME) through the project's
    running `streamwhisk up`, in the terminal, as the page does: the chat opens with its
    answer to an empty message, replies stream in, `state` is kept across turns, a form is
    asked field by field, `@path` sends a file. Words after ACTION are sent as the first
    message.

    \b
    Ctrl-C stops a reply; Ctrl-C or Ctrl-D at the prompt leaves.
    Examples:
      streamwhisk chat chat/stateless
      streamwhisk chat pinocchio         (pinocchio/pinocchio)
      streamwhisk chat vision/form "what is in @cat.jpg"
    """
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    from ..learner.chat import Chat, Files
    from ..learner.server import RunningUp

    # Ctrl-C at this terminal is the user's "stop the reply", also when the chat was started
    # from a process that ignores SIGINT (a shell's background job, an IDE's task runner).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    action = action if "/" in action else f"{action}/{action}"  # as `ops ai chat NAME`
    server = RunningUp.find(project, url, None)
    talk = Chat(server.client(timeout_s=None), action, Files.of(project, inline), as_json)
    history = data_root() / "chat-history"
    history.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))
    click.echo(f"chatting with {action} at {server.url}; Ctrl-C stops a reply, Ctrl-D leaves",
               err=True)
    try:
        talk.open(session.prompt)
    except KeyboardInterrupt:
        click.echo("\n(stopped)", err=True)
    if first:
        talk.send(" ".join(first), session.prompt)
    while True:
        try:
            text = session.prompt(f"{action}> ")
        except (KeyboardInterrupt, EOFError):
            click.echo("bye", err=True)
            return
        try:
            if text.strip():
                talk.send(text, session.prompt)
        except KeyboardInterrupt:  # after a reply, before the prompt: it stops that turn
            click.echo("\n(stopped)", err=True)


@click.command()
@click.argument("action")
@click.argument("package", required=False)
@PROJECT
def new(action: str, package: str | None, project: Path) -> None:
    """Write a new action ACTION in PACKAGE (default: a package named as the action), in the
    course's layout, with its unit and _int tests; nothing is overwritten. In a folder with
    no packages/ yet, it makes packages/ (the folder becomes a project).

    \b
    Example:
      streamwhisk new hello demo    packages/demo/hello/{__main__,hello}.py, tests/demo/
    """
    from ..learner.scaffold import scaffold

    if not (project / "packages").is_dir():  # a new project: its first action
        (project / "packages").mkdir(parents=True)
        click.echo(f"created packages/ in {project.resolve()} (a new project)")
    for path in scaffold(project, action, package):
        click.echo(f"created {path.relative_to(project)}")


@click.group()
def user() -> None:
    """The users of the project's mastrogpt/login (packages/mastrogpt/login/users.json).

    \b
    Examples:
      streamwhisk user add pinocchio
      streamwhisk user update pinocchio
    """


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True,
                            err=True))


for verb, update in (("add", False), ("update", True)):
    @user.command(verb, help=f"{verb.capitalize()} NAME, asking the password twice "
                  "(not shown), or reading one line with --password-stdin.\n\n\b\n"
                  f"Examples:\n  streamwhisk user {verb} pinocchio\n"
                  f"  echo \"$PASSWORD\" | streamwhisk user {verb} pinocchio --password-stdin")
    @click.argument("name")
    @PROJECT
    @click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
    def _set(name: str, project: Path, password_stdin: bool, update: bool = update) -> None:
        from ..learner.users import set_password

        path = set_password(project, name, _password(password_stdin), update)
        click.echo(f"{'updated' if update else 'added'} {name} in {path.relative_to(project)}")


@user.command("delete")
@click.argument("name")
@PROJECT
def delete_user(name: str, project: Path) -> None:
    """Delete NAME.

    \b
    Example:
      streamwhisk user delete pinocchio
    """
    from ..learner.users import delete

    path = delete(project, name)
    click.echo(f"deleted {name} from {path.relative_to(project)}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--action", default="mastrogpt/loader", show_default=True,
              help="The loader action the chunks go to.")
@click.option("--chunksize", default=4000, show_default=True, help="The most bytes a chunk has.")
@click.option("--collection", default="default", show_default=True,
              help="The collection they go into (the loader's `state`).")
@click.option("--clean", is_flag=True, help="Drop the collection first (`!!collection`).")
@click.option("--opts", metavar="JSON", help="Sent with every chunk as `options` (a JSON "
              "object), as `ops ai loader --opts` does.")
@URL
@AUTH
@PROJECT
def loader(files: tuple[Path, ...], action: str, chunksize: int, collection: str, clean: bool,
           opts: str | None, url: str | None, auth: str | None, project: Path) -> None:
    """Split FILES (text, Markdown, PDF) into chunks and send each to the project's loader
    action on a running `streamwhisk up`, which embeds them into the vector database.

    \b
    Example:
      streamwhisk loader docs/*.md manual.pdf --collection docs --clean
      streamwhisk loader notes.txt --opts '{"model": "mxbai-embed-large"}'
    """
    from ..errors import LoaderError
    from ..learner.loader import chunks_of, options_of
    from ..learner.server import RunningUp

    options = options_of(opts)
    chunks = chunks_of(list(files), chunksize)
    server = RunningUp.find(project, url, auth)
    with server.client(timeout_s=300) as client:
        if clean:
            client.invoke(action, {"input": f"!!{collection}", "state": collection, **options})
        with click.progressbar(chunks, label=f"loading into {collection}",
                               item_show_func=lambda c: c.source if c else None) as bar:
            for chunk in bar:
                result = client.invoke(action, {"input": chunk.text, "state": collection,
                                                **options})
                error = result.get("error") if isinstance(result, dict) else None
                if error:
                    raise LoaderError(f"{action} refused a chunk of {chunk.source}: {error}")
    click.echo(f"sent {len(chunks)} chunk(s) of at most {chunksize} bytes from {len(files)} "
               f"file(s) to {action}, collection {collection}", err=True)
