"""The pure helpers, tested directly (they are also exercised through real servers)."""

from __future__ import annotations

import doctest

import pytest

import streamwhisk.activations.record
import streamwhisk.annotations
import streamwhisk.assembly
import streamwhisk.basicauth
import streamwhisk.mcptools.convention
import streamwhisk.mcptools.server
import streamwhisk.openwhisk.client
from streamwhisk.assembly import public_url
from streamwhisk.errors import InvalidName
from streamwhisk.hosting.serving import own_host_names
from streamwhisk.names import split_action_name
from streamwhisk.project import Limits


def test_the_doctests_hold() -> None:
    for module in (streamwhisk.basicauth, streamwhisk.assembly, streamwhisk.annotations,
                   streamwhisk.openwhisk.client, streamwhisk.activations.record,
                   streamwhisk.mcptools.convention, streamwhisk.mcptools.server):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module


@pytest.mark.parametrize(("name", "parts"), [
    ("chat/simple", ("chat", "simple")), ("/guest/chat/simple", ("chat", "simple")),
    ("reverse", ("default", "reverse")), ("/_/reverse", ("_", "reverse"))])
def test_an_action_name_splits_into_package_and_action(name: str,
                                                       parts: tuple[str, str]) -> None:
    assert split_action_name(name) == parts


@pytest.mark.parametrize("name", ["a/b/c/d", "", "p/.."])
def test_a_name_openwhisk_refuses_is_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        split_action_name(name)


def test_the_public_url_is_localhost_for_any_loopback_or_wildcard_address() -> None:
    assert public_url("127.0.0.1", "http://127.0.0.1:8080") == "http://localhost:8080"
    assert public_url("0.0.0.0", "http://0.0.0.0:9000") == "http://localhost:9000"
    assert public_url("192.168.1.5", "http://192.168.1.5:80") == "http://192.168.1.5:80"


def test_own_host_names_cover_loopback_names_and_the_platforms_subdomains() -> None:
    names = own_host_names("127.0.0.1", 8080, platform=True)
    for host in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "stream.localhost:8080",
                 "s3.localhost:8080"):
        assert host in names, host
    assert "example.com:8080" not in names


def test_limits_clamp_the_timeout_and_map_to_openwhisks_names() -> None:
    limits = Limits.from_openwhisk({"timeout": 999_999_999, "memory": 512})
    assert limits == Limits(timeout_ms=3_600_000, memory_mb=512)
    assert limits.as_openwhisk() == {"timeout": 3_600_000, "memory": 512, "concurrency": 1,
                                     "logs": 10}
