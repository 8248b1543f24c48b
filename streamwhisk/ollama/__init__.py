"""A bundled Ollama-compatible dev server: Ollama's API, replies from an editable script.

Its names are imported when first used, so that `streamwhisk --help` (which registers
`ollama serve`) does not load the server."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DEFAULT_SCRIPT", "DevOllamaSettings", "Script", "create_dev_ollama_app"]
_HOMES = {"DevOllamaSettings": ".app", "create_dev_ollama_app": ".app",
          "DEFAULT_SCRIPT": ".script", "Script": ".script"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
