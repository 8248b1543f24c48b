"""A real Chromium (Debian's, installed by `make test`) driven by Playwright.

Every page records the URLs it requests, so a test can prove the page stayed on loopback;
anything else is aborted before it leaves the machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from .pages import RecordingPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# As the machine's own probe starts it: no sandbox as root, and no background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium on PATH: `make test` installs Debian's chromium package")
    launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def chat_page(browser: Browser) -> Iterator[RecordingPage]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(20_000)
    recording = RecordingPage(context.new_page())
    yield recording
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
