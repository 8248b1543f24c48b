#--web true
#--kind python:default
#--param OLLAMA_HOST $OLLAMA_HOST
#--param AUTH ${AUTH:-}
#--timeout 600000
#--annotation index '10:Chat:Simple'
#--annotation description "The lesson's first chat: one question, one whole answer, no streaming."
"""The lesson's non-streaming chat: ask Ollama's /api/generate, answer with the whole reply.

The reply is read from Ollama as a stream all the same, so a long answer is bounded by the
time between tokens, not by a cap on the whole generation.
"""

import json
import os

import requests

MODEL = "llama3.1:8b"
TIMEOUT = (5, 120)  # connect; then the first token, and each one after it


def base_url(args):
    """`http(s)://[AUTH@]host[:port]` from OLLAMA_HOST, with or without a scheme."""
    host = args.get("OLLAMA_HOST", os.getenv("OLLAMA_HOST")) or ""
    auth = args.get("AUTH", os.getenv("AUTH")) or ""
    scheme, _, rest = host.rpartition("://")
    scheme = scheme or ("http" if rest.startswith(("127.", "localhost", "[::1]")) else "https")
    credentials = f"{auth}@" if auth else ""
    return f"{scheme}://{credentials}{rest.rstrip('/')}"


def ask(args, prompt):
    message = {"model": MODEL, "prompt": prompt, "stream": True}
    out = ""
    with requests.post(f"{base_url(args)}/api/generate", json=message, stream=True,
                       timeout=TIMEOUT) as res:
        for line in res.iter_lines(chunk_size=None):
            chunk = json.loads(line) if line else {}
            if "error" in chunk:
                return out + f"\n\n(Ollama: {chunk['error']})"
            out += chunk.get("response", "")
    return out


def main(args):
    inp = args.get("input", "")
    if not inp:
        return {"body": {"output": "Welcome to the simple chat: ask me anything."}}
    try:
        out = ask(args, inp)
    except requests.RequestException as exc:
        # the URL holds AUTH: name the failure, never the exception's text
        out = f"Cannot reach Ollama ({type(exc).__name__}): is it running?"
    except ValueError:
        out = "Ollama answered something that is not JSON: is OLLAMA_HOST an Ollama?"
    return {"body": {"output": out}}
