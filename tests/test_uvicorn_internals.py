"""What hosting/ relies on in uvicorn beyond its public API, checked on the uvicorn installed:
pyproject.toml pins the minor these were read from, and this test fails the day one moves."""

from __future__ import annotations

import inspect
import sys

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# what limits.py's protocol calls or reads, and overrides
PROTOCOL_METHODS = ("_unset_keepalive_if_required", "send_400_response",
                    "_unsupported_upgrade_warning", "connection_made", "connection_lost",
                    "data_received", "on_message_begin", "on_url", "on_header",
                    "on_headers_complete", "on_message_complete")
PROTOCOL_ATTRIBUTES = ("self.parser", "self.cycle", "self.transport", "self.loop")


def test_the_http_protocol_has_what_limits_py_extends() -> None:
    for name in PROTOCOL_METHODS:
        assert callable(getattr(HttpToolsProtocol, name, None)), name
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in PROTOCOL_ATTRIBUTES:
        assert f"{attribute} =" in source, attribute
    assert "response_started" in inspect.getsource(
        __import__("uvicorn.protocols.http.httptools_impl").protocols.http.httptools_impl
        .RequestResponseCycle)


def test_the_server_has_what_serving_py_extends() -> None:
    handle_exit = uvicorn.Server.handle_exit
    if "sse_starlette.sse" in sys.modules:  # the MCP SDK's sse-starlette wraps uvicorn's on
        handle_exit = sys.modules["sse_starlette.sse"].AppStatus.original_handler  # import
    assert list(inspect.signature(handle_exit).parameters) == ["self", "sig", "frame"]
    assert "sockets" in inspect.signature(uvicorn.Server.serve).parameters
    assert callable(getattr(uvicorn.Server, "capture_signals", None))
    server = uvicorn.Server(uvicorn.Config(app=None))
    assert server.should_exit is False
