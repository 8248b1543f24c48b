"""First use seen from the page: while the runtime is built, the chat list shows how the build
goes and fills itself when it is ready; a message sent meanwhile says what it waits for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from package_index import PackageIndex, serve_index
from playwright.sync_api import expect
from support import first_use_project, fresh_home_env

from streamwhisk.testing import RunningServer, serve

from .pages import ChatPage, RecordingPage

FLAT_INDEX = ("#--web true\ndef main(args):\n"
              "    return {'body': {'services': [{'name': 'Patient', 'url': 'f/patient'}]}}\n")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PackageIndex]:
    with serve_index(tmp_path / "index") as served:
        served.open.clear()  # the first runtime build waits on it
        try:
            yield served
        finally:
            served.open.set()


def held_server(tmp_path: Path, index: PackageIndex, with_index: bool) -> RunningServer:
    project = first_use_project(tmp_path / "project")
    if with_index:
        (project / "packages" / "mastrogpt").mkdir()
        (project / "packages" / "mastrogpt" / "index.py").write_text(FLAT_INDEX)
    return serve(project, log_path=tmp_path / "server.log", env=fresh_home_env(tmp_path, index))


def test_the_chat_list_shows_the_build_and_fills_itself_when_it_is_ready(
        chat_page: RecordingPage, tmp_path: Path, index: PackageIndex) -> None:
    with held_server(tmp_path, index, with_index=True) as server:
        page = chat_page.page
        page.goto(server.url + "/")
        expect(page.locator("#chat-list p.building")).to_contain_text(
            re.compile(r"^Preparing the python:default .* s\): "))
        expect(page.locator("#chat-list")).to_contain_text("The chats appear here when it is ready")
        index.open.set()
        expect(page.locator("button.chat")).to_have_text(["Patient"], timeout=60_000)
        expect(ChatPage(page).opening()).to_contain_text("hello, you, from the greeting wheel")


def test_a_message_sent_during_the_build_says_it_waits_for_the_runtime(
        chat_page: RecordingPage, tmp_path: Path, index: PackageIndex) -> None:
    with held_server(tmp_path, index, with_index=False) as server:
        ui = ChatPage(chat_page.page)
        ui.page.goto(server.url + "/")
        ui.page.get_by_role("button", name="patient", exact=True).click()
        ui.type_and_enter("hello")
        reply = ui.replies().first
        expect(reply.locator(".meta")).to_contain_text(
            re.compile(r"^Waiting for the runtime: the python:default"))
        index.open.set()
        expect(reply).to_contain_text("hello, you, from the greeting wheel", timeout=60_000)
        expect(reply.locator(".meta")).to_contain_text("answered in")
