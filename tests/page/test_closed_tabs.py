"""Browser tabs closed while a reply streams: each ends its chat's whole chain (the stream,
the action, its request to the dev Ollama, through the dev Ollama's TLS-or-plain front door),
and the server stays whole: up, answering, no descriptor closed twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from streamwhisk.testing import RunningServer, serve

REPO = Path(__file__).resolve().parents[2]
TABS = 100  # in the suite; 200 tabs, three runs in a row, also pass
AT_ONCE = 20  # tabs open together, each closed ~50 ms after its message is sent
SEND = """fetch('/web/_/chat/stateless', {method: 'POST',
  headers: {'content-type': 'application/json'},
  body: JSON.stringify({input: 'tell me a long story'})})
  .then(answer => answer.body.getReader().read())"""


@pytest.fixture
def up(tmp_path: Path) -> Iterator[RunningServer]:
    with serve(REPO, "--dev-ollama", "always", log_path=tmp_path / "up.log",
               env={"OLLAMA_HOST": None, "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
               ) as running:
        yield running


def test_tabs_closed_mid_reply_leave_the_server_answering(browser: Browser,
                                                          up: RunningServer) -> None:
    for _ in range(TABS // AT_ONCE):
        # a context each: a browser holds at most 6 connections to one host per context
        contexts = [browser.new_context() for _ in range(AT_ONCE)]
        tabs = [context.new_page() for context in contexts]
        for tab in tabs:
            tab.goto(up.url + "/_streamwhisk/actions")
        for tab in tabs:
            tab.evaluate(f"void {SEND}")
        tabs[-1].wait_for_timeout(50)
        for context in contexts:
            context.close()
    assert up.process.poll() is None, up.log()
    # the tabs were closed mid-reply, and each close reached the dev Ollama's generation
    assert up.log().count("client-gone") >= TABS // 2, up.log()[-3000:]
    with httpx.Client(timeout=60) as client:
        for turn in range(20):
            answer = client.post(f"{up.url}/api/v1/web/_/chat/stateless",
                                 json={"input": "Capital of Italy"})
            assert answer.status_code == 200, (turn, answer.text, up.log()[-3000:])
            assert "Rome" in answer.json()["output"], answer.text
    assert "Bad file descriptor" not in up.log()
    assert "Fatal Python error" not in up.log()
