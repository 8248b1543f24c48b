"""The HTTP server: OpenWhisk web actions, the streamer, and the chat page."""

from .app import Server, ServerSettings, create_app

__all__ = ["Server", "ServerSettings", "create_app"]
