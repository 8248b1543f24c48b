"""Helpers for testing streamwhisk projects: real servers on loopback, the stream mock."""

from .server import RunningServer, serve

__all__ = ["RunningServer", "serve"]
