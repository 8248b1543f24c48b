"""Helpers for testing streamwhisk projects: real servers on loopback, the stream mock."""

from .server import RunningServer, serve, serve_dev_ollama

__all__ = ["RunningServer", "serve", "serve_dev_ollama"]
