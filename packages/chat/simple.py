#--web true
#--kind python:default
#--param OLLAMA_HOST $OLLAMA_HOST
#--param AUTH ${AUTH:-}
#--annotation index '10:Chat:Simple'
#--annotation description "The lesson's first chat: one question, one whole answer, no streaming."
"""The lesson's non-streaming chat: one request to Ollama's /api/generate, the whole reply back."""

import os

import requests

MODEL = "llama3.1:8b"
TIMEOUT = (5, 300)  # connect, read


def base_url(args):
    """`http(s)://[AUTH@]host[:port]` from OLLAMA_HOST, with or without a scheme."""
    host = args.get("OLLAMA_HOST", os.getenv("OLLAMA_HOST")) or ""
    auth = args.get("AUTH", os.getenv("AUTH")) or ""
    scheme, _, rest = host.rpartition("://")
    scheme = scheme or ("http" if rest.startswith(("127.", "localhost")) else "https")
    credentials = f"{auth}@" if auth else ""
    return f"{scheme}://{credentials}{rest.rstrip('/')}"


def main(args):
    inp = args.get("input", "")
    if not inp:
        return {"body": {"output": "Welcome to the simple chat: ask me anything."}}
    message = {"model": MODEL, "prompt": inp, "stream": False}
    try:
        res = requests.post(f"{base_url(args)}/api/generate", json=message, timeout=TIMEOUT)
        out = res.json().get("response", "error")
    except requests.RequestException as exc:
        out = f"Cannot reach Ollama ({type(exc).__name__}): is it running?"
    return {"body": {"output": out}}
