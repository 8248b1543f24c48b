"""A bundled Ollama-compatible dev server: Ollama's API, replies from an editable script."""

from .app import DevOllamaSettings, create_dev_ollama_app
from .script import DEFAULT_SCRIPT, Script

__all__ = ["DEFAULT_SCRIPT", "DevOllamaSettings", "Script", "create_dev_ollama_app"]
