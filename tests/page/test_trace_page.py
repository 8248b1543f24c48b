"""A chat turn's trace in the page, in a real Chromium: what the turn was given, what it
streamed and when, what it answered and left as state, what it printed (an error's traceback);
the turn before; a replay with the input changed first, which the server records as such."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from support import copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

from .pages import ChatPage, RecordingPage

AUTH = "7e2f4a1b-trace-page:key-of-the-trace-page-tests"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[RunningServer]:
    project = copy_project("activations_project", tmp_path)
    with serve(project, log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "AUTH": AUTH}) as running:
        yield running


def newest(up: RunningServer) -> dict[str, object]:
    found = httpx.get(f"{up.url}/api/v1/namespaces/_/activations", auth=tuple(AUTH.split(":")),
                      params={"limit": 1, "docs": "true"}).json()
    return dict(found[0])


def test_a_turns_trace_shows_it_links_the_turn_before_and_replays_it_changed(
        chat_page: RecordingPage, up: RunningServer) -> None:
    page = chat_page.page
    page.goto(up.url + "/")
    ui = ChatPage(page)
    ui.choose("story")
    ui.send("one")
    second = ui.send("two")
    second.locator("button.trace-open").click()
    trace = page.locator("#trace")
    expect(trace).to_contain_text("guest/a/story · success")
    expect(trace).to_contain_text('"input": "two"')
    expect(trace).to_contain_text('"state": "after one"')  # the state the turn was given
    expect(trace.locator(".trace-stream li")).to_have_count(4)  # three words and the state
    expect(trace.locator(".trace-stream li").first).to_contain_text('{"output":"word0 "}')
    expect(trace.locator(".trace-facts")).to_contain_text("4 streamed, first after")
    expect(trace.locator(".trace-part").nth(3)).to_contain_text('"after two"')  # state out
    trace.get_by_role("button", name="← the turn before").click()
    expect(trace).to_contain_text('"input": "one"')
    replayed = trace.locator(".trace-id").first.inner_text().split()[-1]
    trace.locator(".trace-edit").fill(json.dumps({"input": "edited", "count": 2}))
    trace.get_by_role("button", name="Replay").click()
    expect(trace).to_be_hidden()
    expect(ui.replies().last).to_contain_text("word1", timeout=10_000)
    assert wait_until(lambda: newest(up)["trace"]["args"].get("input") == "edited")  # type: ignore[index]
    record = newest(up)
    notes = {a["key"]: a["value"] for a in record["annotations"]}  # type: ignore[union-attr]
    assert notes["replayOf"] == replayed
    assert chat_page.errors == []


def test_a_failed_turns_trace_shows_the_actions_traceback(chat_page: RecordingPage,
                                                          up: RunningServer) -> None:
    page = chat_page.page
    page.goto(up.url + "/")
    ui = ChatPage(page)
    ui.choose("hello")
    failed = ui.send("crash")
    expect(failed.locator(".error")).to_contain_text("ValueError: boom")
    failed.locator("button.trace-open").click()
    trace = page.locator("#trace")
    expect(trace).to_contain_text("action developer error")
    expect(trace.locator(".trace-logs")).to_contain_text("Traceback (most recent call last)")
    expect(trace.locator(".trace-logs")).to_contain_text('raise ValueError("boom")')
    expect(trace.locator(".trace-logs")).not_to_contain_text("s3cret-activation-token-42")
