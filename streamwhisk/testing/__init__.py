"""Helpers for testing streamwhisk projects: real servers on loopback, the stream mock."""

from .polling import wait_until
from .pytest_plugin import trust_dev_ca
from .server import RunningServer, serve, serve_dev_ollama, serve_streamer

__all__ = ["RunningServer", "serve", "serve_dev_ollama", "serve_streamer", "trust_dev_ca",
           "wait_until"]
