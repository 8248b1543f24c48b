"""`streamwhisk mcp PACKAGE`: the package's `mcp:*` actions as an MCP server over stdio (what
desktop clients launch), run here as `invoke` runs them; `streamwhisk mcp install PACKAGE`
writes (or prints) the client's configuration that launches it. While `up` runs, the same
server is at `/mcp/PACKAGE` over Streamable HTTP."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .common import DEV_OLLAMA, PROJECT, SERVICES, UserError, require_packages

CLIENT_CONFIGS = {  # where each client reads its MCP servers, on Linux and macOS
    "claude": (Path("~/.config/Claude/claude_desktop_config.json"),
               Path("~/Library/Application Support/Claude/claude_desktop_config.json")),
    "cursor": (Path("~/.cursor/mcp.json"), Path("~/.cursor/mcp.json")),
}


class McpCommands(click.Group):
    """`mcp PACKAGE` serves; `mcp install PACKAGE` configures a client."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=McpCommands)
def mcp() -> None:
    """A package's actions annotated `mcp:type tool|resource|prompt` as an MCP server, as
    OpenServerless's MCP plugin makes one.

    \b
    Examples:
      streamwhisk mcp hackernews                     over stdio, for a client to launch
      streamwhisk mcp install hackernews --claude    Claude Desktop launches it
      streamwhisk mcp install hackernews --print     the JSON, for any client
    """


@mcp.command("serve")
@click.argument("package")
@PROJECT
@SERVICES
@DEV_OLLAMA
def serve(package: str, project: Path, services: str, dev_ollama: str) -> None:
    """Serve PACKAGE's MCP tools, resources and prompts over stdio (stdin/stdout carry only
    MCP; diagnostics go to stderr). Each call runs its action here, recorded as any
    activation is.

    \b
    Example:
      streamwhisk mcp hackernews --project ~/agents
    """
    import asyncio

    from ..logsetup import configure_logging

    configure_logging("warning")
    require_packages(project)
    asyncio.run(_serve_stdio(project, package, services, dev_ollama))


async def _serve_stdio(project: Path, package: str, services: str, dev_ollama: str) -> None:
    import asyncio
    import contextlib

    from mcp.server.stdio import stdio_server

    from ..activations.journal import Journal, journal_file
    from ..activations.recorder import Recorder
    from ..assembly import Run, RunChoices
    from ..hosting.serving import beside
    from ..mcptools.server import PackageTools
    from ..runtime import Invoker

    assembled = Run(RunChoices(project, "packages", services, dev_ollama))
    journal = Journal(journal_file(assembled.project.root))
    invoker = Invoker(assembled.project,
                      recorder=Recorder(journal, assembled.choices.namespace))
    tools = PackageTools(package, invoker, _version())
    if not tools.entries():
        raise UserError(f"the package {package} has no action with an mcp:type annotation "
                        f"in {assembled.project.packages}")
    with contextlib.ExitStack() as stack:
        stack.callback(journal.close)
        stack.callback(assembled.services.stop)
        if assembled.services.chosen:
            assembled.services.start_in_background()
        companions = [assembled.serve_dev_ollama()] if assembled.wants_dev_ollama else []
        async with beside(companions, "warning"), stdio_server() as (read, write):
            watcher = asyncio.get_running_loop().create_task(tools.watch())
            try:
                await tools.server.run(read, write, tools.initialization_options())
            finally:
                watcher.cancel()
                await invoker.close()


@mcp.command("install")
@click.argument("package")
@click.option("--claude", "client", flag_value="claude", help="Into Claude Desktop's config.")
@click.option("--cursor", "client", flag_value="cursor", help="Into Cursor's ~/.cursor/mcp.json.")
@click.option("--print", "client", flag_value="print", default=True,
              help="Print the JSON (the default), for any client.")
@click.option("--name", help="The server's name in the client (default: PACKAGE).")
@PROJECT
def install(package: str, client: str, name: str | None, project: Path) -> None:
    """The client's configuration that launches `streamwhisk mcp PACKAGE` for this project:
    written into the client's file (its other servers kept), or printed.

    \b
    Examples:
      streamwhisk mcp install hackernews --claude
      streamwhisk mcp install hackernews --print
    """
    require_packages(project)
    entry = {"command": sys.executable,
             "args": ["-m", "streamwhisk", "mcp", package, "--project",
                      str(project.resolve())]}
    servers = {name or package: entry}
    if client == "print":
        click.echo(json.dumps({"mcpServers": servers}, indent=2))
        return
    path = _config_path(client)
    config = _read_config(path)
    config.setdefault("mcpServers", {}).update(servers)
    from ..paths import write_whole

    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, json.dumps(config, indent=2) + "\n")
    click.echo(f"{client}: {name or package} added to {path} (restart {client} to load it)",
               err=True)


def _config_path(client: str) -> Path:
    linux, mac = CLIENT_CONFIGS[client]
    return (mac if sys.platform == "darwin" else linux).expanduser()


def _read_config(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} cannot be read as JSON ({exc}): fix it, or use --print") \
            from exc
    if not isinstance(found, dict):
        raise UserError(f"{path} is not a JSON object: fix it, or use --print")
    return found


def _version() -> str:
    from importlib.metadata import version

    return version("streamwhisk")
