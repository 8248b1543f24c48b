"""Helpers for testing streamwhisk projects: real servers on loopback, the stream mock.
(pytest is not imported here: `pytest_plugin` is loaded by pytest itself.)"""

from ..launch import RunningServer, serve, serve_dev_ollama, serve_streamer
from .polling import wait_until
from .trust import trust_dev_ca

__all__ = ["RunningServer", "serve", "serve_dev_ollama", "serve_streamer", "trust_dev_ca",
           "wait_until"]
