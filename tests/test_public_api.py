"""The public names are the curated ones, and each is really there."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["streamwhisk", "streamwhisk.runtime", "streamwhisk.stream",
            "streamwhisk.ollama", "streamwhisk.testing"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_the_list_is_sorted(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__all__ == sorted(package.__all__)
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert missing == []


def test_every_error_is_a_streamwhisk_error() -> None:
    import streamwhisk

    errors = [getattr(streamwhisk, n) for n in streamwhisk.__all__ if n.endswith(("Error",
              "Found", "Crashed", "TimedOut", "Overloaded", "Failure"))]
    assert errors and all(issubclass(e, streamwhisk.StreamwhiskError) for e in errors)
