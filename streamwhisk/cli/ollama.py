"""`streamwhisk ollama serve`: the bundled dev Ollama as a server of its own."""

from __future__ import annotations

from pathlib import Path

import click

from ..logsetup import configure_logging
from .common import stop_on_signals


def announce_dev_ollama(url: str, detail: str = "") -> None:
    """The line `streamwhisk.testing` waits for: it names the dev server for what it is."""
    click.echo(f"streamwhisk dev ollama (scripted replies, not an LLM) at {url}, and "
               f"{url.replace('http://', 'https://')} with the local CA{detail}", err=True)


@click.group()
def ollama() -> None:
    """The bundled Ollama-compatible dev server (scripted replies, not an LLM)."""


@ollama.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=11434, show_default=True, help="Port; 0 picks a free one.")
@click.option("--script", "script_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The reply script (TOML); default: the bundled replies.toml.")
@click.option("--token-rate", default=50.0, show_default=True,
              help="Tokens per second; 0 sends them as fast as it can.")
@click.option("--auth", envvar="AUTH", default="", show_default=False,
              help="Require these HTTP basic credentials (user:secret); default: $AUTH.")
@click.option("--max-prompt-bytes", default=1024 * 1024, show_default=True,
              help="A longer prompt is refused with 413.")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Another Host name to answer to, when serving beyond loopback (repeat it).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def ollama_serve(host: str, port: int, script_path: Path | None, token_rate: float, auth: str,
                 max_prompt_bytes: int, allowed_hosts: tuple[str, ...], log_level: str) -> None:
    """Serve Ollama's API (/, /api/version, /api/tags, /api/show, /api/generate, /api/chat)
    with replies from a script, and /dev/generations: how each generation ended.

    \b
    Examples:
      streamwhisk ollama serve --port 0
      OLLAMA_HOST=127.0.0.1:11434 streamwhisk up      (in another terminal)
    """
    from ..devca import dev_ca
    from ..hosting.serving import Served, listen, own_host_names, run, url_of
    from ..ollama import DEFAULT_SCRIPT, DevOllamaSettings, Script, create_dev_ollama_app

    configure_logging(log_level)
    stop_on_signals()
    script = Script.load(script_path or DEFAULT_SCRIPT)
    sock = listen(host, port)
    hosts = own_host_names(host, int(url_of(sock).rsplit(":", 1)[1]), allowed_hosts)
    app = create_dev_ollama_app(DevOllamaSettings(script, token_rate, auth, max_prompt_bytes,
                                                  hosts))
    ca = dev_ca()
    announce_dev_ollama(url_of(sock), f" (CA bundle: {ca.bundle})")
    run(Served(app, sock, tls=ca.server_context()), [], log_level)
