"""Helpers for testing streamwhisk projects: real servers on loopback, the stream mock."""

from .polling import wait_until
from .server import RunningServer, serve, serve_dev_ollama

__all__ = ["RunningServer", "serve", "serve_dev_ollama", "wait_until"]
