"""The lesson's finished exercise: a chat that streams Ollama's reply as it is generated.

E2.1  secrets from `args`, with `os.getenv` as the fallback (tests and the CLI);
E2.2  Ollama's streamed lines decoded, only the text relayed;
E2.3  `llama` or `deepseek` switches the model; the choice travels in the chat's `state`;
bonus <think>...</think> shown as [think]...[/think], even when a tag is split across chunks.
Reasoning that Ollama sends in its own `thinking` field is relayed as `thinking` messages.
"""

import json
import os
import socket

import requests

MODELS = {"llama": "llama3.1:8b", "deepseek": "deepseek-r1:32b"}
MODEL = MODELS["llama"]
CONNECT_TIMEOUT = 5
# requests' read timeout: how long to wait for the first token, and for each one after it;
# there is no cap on the whole reply
TOKEN_TIMEOUT = 120
TAGS = {"<think>": "[think]", "</think>": "[/think]"}
WELCOME = "Welcome to the stateless chat. Type 'llama' or 'deepseek' to switch model."


def base(args):
    """`http(s)://[AUTH@]host[:port]` from OLLAMA_HOST, with or without a scheme."""
    host = args.get("OLLAMA_HOST", os.getenv("OLLAMA_HOST")) or ""
    auth = args.get("AUTH", os.getenv("AUTH")) or ""
    scheme, _, rest = host.rpartition("://")
    scheme = scheme or ("http" if rest.startswith(("127.", "localhost", "[::1]")) else "https")
    credentials = f"{auth}@" if auth else ""
    return f"{scheme}://{credentials}{rest.rstrip('/')}"


def url(args):
    return f"{base(args)}/api/generate"


class ThinkTags:
    """Rewrites <think> tags as [think] ones; holds back a chunk's end that may begin a tag."""

    def __init__(self):
        self.pending = ""

    def feed(self, text):
        text = self.pending + text
        for tag, shown in TAGS.items():
            text = text.replace(tag, shown)
        keep = max((n for tag in TAGS for n in range(1, len(tag)) if text.endswith(tag[:n])),
                   default=0)
        self.pending = text[len(text) - keep:] if keep else ""
        return text[:len(text) - keep]

    def flush(self):
        rest, self.pending = self.pending, ""
        return rest


class Channel:
    """The socket to the streamer, or nothing when there is no STREAM_HOST (a plain call)."""

    def __init__(self, args):
        self.sock = None
        if args.get("STREAM_HOST") and args.get("STREAM_PORT"):
            address = (args["STREAM_HOST"], int(args["STREAM_PORT"]))
            self.sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
            self.sock.settimeout(None)

    def send(self, message):
        if self.sock is not None:
            self.sock.sendall(json.dumps(message).encode("utf-8"))

    def close(self):
        if self.sock is not None:
            self.sock.close()


def relay(channel, lines):
    """Send the text of Ollama's lines; (text sent, Ollama's error or None).

    An OSError from the channel means the reader went away: it propagates, so the caller
    closes the request to Ollama and generation stops there too."""
    out, tags = "", ThinkTags()
    for line in lines:
        if not line:
            continue
        try:
            chunk = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
        except ValueError:
            return out, f"Ollama sent a line that is not JSON: {line[:80]!r}"
        if "error" in chunk:
            return out, f"Ollama: {chunk['error']}"
        message = chunk.get("message") or {}
        thinking = chunk.get("thinking") or message.get("thinking")
        if thinking:
            channel.send({"thinking": thinking})
        text = tags.feed(chunk.get("response") or message.get("content") or "")
        if chunk.get("done"):
            text += tags.flush()
        if text:
            channel.send({"output": text})
            out += text
    rest = tags.flush()
    if rest:
        channel.send({"output": rest})
        out += rest
    return out, None


def stream(args, lines):
    """The lesson's `stream`: relay Ollama's raw lines (bytes) and return the text relayed."""
    channel = Channel(args)
    try:
        out, error = relay(channel, lines)
        if error:
            channel.send({"error": error})
        return out
    except OSError as exc:  # the reader went away: a stop
        print(f"stopped: the reader went away ({type(exc).__name__})")
        return ""
    finally:
        channel.close()


def chat(args, model, prompt, channel):
    """Ask Ollama, relay the reply; (text, error or None)."""
    if not (args.get("OLLAMA_HOST") or os.getenv("OLLAMA_HOST")):
        return "", "OLLAMA_HOST is not set: configure it (see packages/.env) or run `make run`."
    message = {"model": model, "prompt": prompt, "stream": True}
    try:
        with requests.post(url(args), json=message, stream=True,
                           timeout=(CONNECT_TIMEOUT, TOKEN_TIMEOUT)) as res:
            if res.status_code != 200:
                return "", f"Ollama answered {res.status_code}: {_error_of(res)}"
            # chunk_size=None: each line as soon as it arrives, not once 512 bytes are in
            return relay(channel, res.iter_lines(chunk_size=None))
    except requests.RequestException as exc:
        # the URL holds AUTH: name the failure, never the exception's text
        return "", f"Cannot reach Ollama ({type(exc).__name__}): is it running?"


def stateless(args):
    inp = str(args.get("input", "")).strip()
    state = _state(args.get("state"))
    model = state.get("model", MODEL)
    channel = Channel(args)
    out, error = "", None
    try:
        if not inp:
            out = WELCOME
            channel.send({"output": out})
        elif inp.lower() in MODELS:
            model = state["model"] = MODELS[inp.lower()]
            out = f"Model switched to {model}."
            channel.send({"output": out})
        else:
            out, error = chat(args, model, inp, channel)
            if error:
                channel.send({"error": error})
    except OSError as exc:  # the reader went away: a stop, which closed the Ollama request
        print(f"stopped: the reader went away ({type(exc).__name__})")
    finally:
        channel.close()
    body = {"output": out, "streaming": True, "state": state}
    if error:
        body["error"] = error
    return {"body": body}


def _state(value):
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else {}
        except ValueError:
            value = {}
    state = dict(value) if isinstance(value, dict) else {}
    if state.get("model") not in MODELS.values():
        state.pop("model", None)
    return state


def _error_of(res):
    try:
        return res.json().get("error", res.text[:200])
    except ValueError:
        return res.text[:200]
