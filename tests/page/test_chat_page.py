"""The chat page in a real Chromium against a real `streamwhisk up` and the dev Ollama."""

from __future__ import annotations

import json
import re
import signal
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from support import copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

from .pages import ChatPage, RecordingPage

REPO = Path(__file__).resolve().parents[2]


class ChatUI(ChatPage):
    def __init__(self, page: Page, url: str) -> None:
        super().__init__(page)
        page.goto(url + "/")
        expect(page.locator("button.chat").first).to_be_visible()
        self.settled()


@pytest.fixture
def ui(chat_page: RecordingPage, streamwhisk_server: RunningServer) -> ChatUI:
    return ChatUI(chat_page.page, streamwhisk_server.url)


def test_the_chats_of_mastrogpt_index_are_listed_by_group(ui: ChatUI) -> None:
    expect(ui.page.locator("#chat-list h2")).to_have_text(["Chat"])
    expect(ui.page.locator("button.chat")).to_have_text(["Simple", "Countdown", "Stateless"])


def test_a_reply_streams_in_as_it_is_generated(ui: ChatUI) -> None:
    ui.choose("Countdown")
    ui.type_and_enter("2")
    reply = ui.replies().last
    expect(reply).to_contain_text("2...")
    assert "Go!" not in reply.inner_text()  # the rest has not been generated yet
    expect(reply).to_contain_text("Go!", timeout=10_000)
    expect(reply.locator(".meta")).to_have_text(re.compile(r"first token \d+ ms · [\d.]+ tokens/s"))


def test_markdown_is_rendered_and_saved_as_a_screenshot(ui: ChatUI, artifacts: Path) -> None:
    ui.choose("Stateless")
    reply = ui.send("show me some markdown")
    expect(reply.locator("strong")).to_have_text("Markdown")
    expect(reply.locator("ul li")).to_have_count(2)
    expect(reply.locator("table th")).to_have_text(["language", "typing"])
    expect(reply.locator("pre code")).to_contain_text('return "world"')
    ui.page.screenshot(path=str(artifacts / "chat-page.png"))


def test_reasoning_is_collapsed_and_opens_on_click(ui: ChatUI) -> None:
    ui.choose("Stateless")
    ui.send("deepseek")
    reply = ui.send("Capital of Italy")
    reasoning = reply.locator("details.reasoning").last
    expect(reasoning).not_to_have_attribute("open", "")
    expect(reply).to_contain_text("The capital of Italy is Rome")
    reasoning.locator("summary").click()
    expect(reasoning).to_have_attribute("open", "")
    expect(reasoning).to_contain_text("The user asks for the capital of Italy")
    assert "[think]" not in reply.inner_text()


def test_the_model_switch_sticks_for_that_chat_only_and_each_tab_has_its_own(
    ui: ChatUI, chat_page: RecordingPage, streamwhisk_server: RunningServer
) -> None:
    ui.choose("Stateless")
    ui.send("deepseek")
    expect(ui.send("Capital of Italy").locator("details.reasoning")).to_have_count(1)
    other_tab = ChatUI(chat_page.page.context.new_page(), streamwhisk_server.url)
    other_tab.choose("Stateless")
    expect(other_tab.send("Capital of Italy").locator("details.reasoning")).to_have_count(0)
    expect(ui.send("Capital of Italy").locator("details.reasoning")).to_have_count(1)


def test_stop_ends_the_reply_at_once_and_the_llm_stops_too(
    ui: ChatUI, dev_ollama_url: str
) -> None:
    ui.choose("Stateless")
    prompt = f"tell me a long story {uuid.uuid4()}"
    ui.type_and_enter(prompt)
    reply = ui.replies().last
    expect(reply).to_contain_text("Once upon a time")
    ui.page.click("#stop")
    expect(ui.page.locator("#send")).to_be_enabled()
    expect(reply.locator(".error")).to_have_text("Stopped.")
    kept = reply.inner_text()
    assert "Once upon a time" in kept

    def outcome() -> str:
        generations = httpx.get(dev_ollama_url + "/dev/generations").json()["generations"]
        return str(next(g for g in generations if g["prompt"] == prompt)["outcome"])

    assert wait_until(lambda: outcome() != "running", timeout=15)
    assert outcome() == "client-gone"
    expect(ui.send("Capital of Italy")).to_contain_text("Rome")  # straight away


def test_model_output_cannot_run_code(ui: ChatUI) -> None:
    ui.choose("Stateless")
    reply = ui.send("html injection please")
    expect(reply).to_contain_text("None of it may run")
    assert ui.page.evaluate("window.__injected") is None
    assert reply.locator("script, [onerror]").count() == 0
    for href in reply.locator("a").evaluate_all("links => links.map(a => a.href)"):
        assert not href.startswith("javascript:")


def test_an_llm_error_mid_stream_is_shown_and_the_partial_reply_kept(ui: ChatUI) -> None:
    ui.choose("Stateless")
    reply = ui.send("please fail midway")
    expect(reply.locator(".md").first).to_have_text("This reply will break")
    expect(reply.locator(".error")).to_have_text(
        [re.compile("Ollama: the dev model failed mid-stream")])


def test_a_non_streaming_action_answers_on_the_same_page(ui: ChatUI) -> None:
    ui.choose("Simple")
    expect(ui.send("Who are you?")).to_contain_text("streamwhisk dev model")


def test_enter_sends_and_shift_enter_starts_a_new_line(ui: ChatUI) -> None:
    ui.choose("Simple")
    ui.page.fill("#input", "first line")
    ui.page.press("#input", "Shift+Enter")
    ui.page.type("#input", "second line")
    assert ui.page.input_value("#input") == "first line\nsecond line"
    assert ui.replies().count() == 0
    ui.page.press("#input", "Enter")
    expect(ui.page.locator(".log:not([hidden]) p.user")).to_have_text("first line\nsecond line")
    expect(ui.replies()).to_have_count(1)


def test_the_page_works_offline_it_asks_nothing_of_any_other_host(
    ui: ChatUI, chat_page: RecordingPage, streamwhisk_server: RunningServer
) -> None:
    ui.choose("Stateless")
    ui.send("show me some markdown")
    ui.send("html injection")
    assert chat_page.requested, "no request was recorded"
    strangers = [u for u in chat_page.requested if not u.startswith(streamwhisk_server.url)]
    assert strangers == []
    assert chat_page.errors == []


def test_the_layout_fits_a_narrow_window(chat_page: RecordingPage,
                                         streamwhisk_server: RunningServer) -> None:
    chat_page.page.set_viewport_size({"width": 380, "height": 740})
    ui = ChatUI(chat_page.page, streamwhisk_server.url)
    ui.choose("Stateless")
    ui.send("show me some markdown")
    width = ui.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380
    for selector in ("#input", "#send", "#new-chat", "#clear-chat", "button.chat >> nth=0"):
        box = ui.page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 380, selector


def test_a_long_reply_renders_the_same_as_rendering_it_at_once(
    ui: ChatUI, streamwhisk_server: RunningServer
) -> None:
    prompt = "a long markdown reply"
    answer = httpx.post(streamwhisk_server.url + "/web/_/chat/stateless",
                        json={"input": prompt}, timeout=60).text.splitlines()[-1]
    text = json.loads(answer)["result"]["body"]["output"]
    ui.choose("Stateless")
    reply = ui.send(prompt)
    shape = """(root) => ({
        text: (root.querySelectorAll('.copy').forEach((b) => b.remove()),
               root.innerText.replace(/\\s+/g, ' ').trim()),
        counts: ['h2', 'li', 'pre', 'table', 'details', 'strong', 'a']
            .map((tag) => root.querySelectorAll(tag).length),
    })"""
    streamed = reply.evaluate(f"""(reply) => {{
        const root = document.createElement('div');
        root.append(reply.children[0].cloneNode(true), reply.children[1].cloneNode(true));
        return ({shape})(root);
    }}""")
    at_once = ui.page.evaluate(f"""async (text) => {{
        const {{ renderSegments }} = await import('/_streamwhisk/static/render.js');
        const root = document.createElement('div');
        root.append(renderSegments(text));
        return ({shape})(root);
    }}""", text)
    assert streamed["counts"] == at_once["counts"] == [40, 80, 40, 40, 40, 40, 40]
    assert streamed["text"] == at_once["text"]


@pytest.fixture
def unreachable_ollama_server(tmp_path: Path) -> Iterator[RunningServer]:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed = probe.getsockname()[1]
    with serve(REPO, log_path=tmp_path / "log",
               env={"OLLAMA_HOST": f"127.0.0.1:{closed}"}) as server:
        yield server


def test_ollama_down_is_shown_plainly(chat_page: RecordingPage,
                                      unreachable_ollama_server: RunningServer) -> None:
    ui = ChatUI(chat_page.page, unreachable_ollama_server.url)
    ui.choose("Stateless")
    reply = ui.send("hello?")
    expect(reply.locator(".error")).to_have_text(
        ["Cannot reach Ollama (ConnectionError): is it running?"])


def test_a_cut_stream_is_shown_and_the_partial_reply_kept(chat_page: RecordingPage,
                                                          tmp_path: Path) -> None:
    with serve(REPO, log_path=tmp_path / "log") as server:
        ui = ChatUI(chat_page.page, server.url)
        ui.choose("Countdown")
        ui.type_and_enter("5")
        reply = ui.replies().last
        expect(reply).to_contain_text("5...")
        server.process.send_signal(signal.SIGKILL)  # the server dies mid-reply
        expect(reply.locator(".error")).to_have_text([re.compile("^The stream was cut: ")])
        assert "5..." in reply.inner_text()


def test_a_course_index_lists_its_groups_and_user(chat_page: RecordingPage,
                                                  course_server: RunningServer) -> None:
    ui = ChatUI(chat_page.page, course_server.url)
    expect(ui.page.locator("#chat-list h2")).to_have_text(["Chat", "Hello"])
    expect(ui.page.locator("button.chat")).to_have_text(["Echo", "Form", "Platform"])
    expect(ui.page.locator("#username")).to_have_text("learner")


def test_a_form_is_rendered_and_a_field_the_page_cannot_render_is_shown_not_dropped(
    chat_page: RecordingPage, course_server: RunningServer
) -> None:
    ui = ChatUI(chat_page.page, course_server.url)
    ui.choose("Form")
    reply = ui.send("hello")
    expect(reply).to_contain_text("Fill the form")
    fields = reply.locator("details.fields")
    expect(fields.locator("summary")).to_have_text("other fields: gauge")
    assert json.loads(fields.locator("pre").inner_text()) == {"gauge": {"level": 3}}
    reply.get_by_label("job").fill("pilot")
    reply.get_by_role("button", name="Submit").click()
    expect(ui.replies().last).to_contain_text('Got {"job": "pilot"}')


def test_model_output_makes_the_browser_fetch_nothing_by_itself(
    ui: ChatUI, chat_page: RecordingPage
) -> None:
    ui.choose("Stateless")
    reply = ui.send("images please")
    expect(reply).to_contain_text("the reply goes on for a while")
    fetched = [u for u in chat_page.requested if "probe" in u]
    assert fetched == []
    # the inline image is shown, once: not made again for every token that followed it
    images = reply.locator("img")
    expect(images).to_have_count(1)
    assert images.first.get_attribute("src").startswith("data:image/png;base64,")
    assert len([u for u in chat_page.requested if u.startswith("data:image/png")]) <= 1
    # the others are links the reader may click, or placeholders
    assert reply.locator("a.image-link").first.get_attribute("href") == \
        "http://127.0.0.1:9/remote-probe.png"
    assert reply.locator("video, iframe, svg, [ping], [style], [poster]").count() == 0


def test_a_chat_opens_with_its_answer_to_an_empty_message(ui: ChatUI, artifacts: Path) -> None:
    """As the platform's page opens a chat: an empty invocation first, its answer shown."""
    ui.choose("Stateless")
    expect(ui.opening()).to_have_text(re.compile("^Welcome to the stateless chat"))
    ui.page.screenshot(path=str(artifacts / "chat-welcome.png"))
    reply = ui.send("Capital of Italy")
    expect(reply).to_contain_text("Rome")
    ui.page.reload()  # kept with the conversation, not asked again
    ui.choose("Stateless")
    expect(ui.opening()).to_have_count(1)
    expect(ui.replies()).to_have_count(1)


@pytest.fixture(scope="module")
def starter2024_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("starter2024_project", tmp_path_factory.mktemp("s2024"))
    with serve(project, log_path=project / "server.log") as server:
        yield server


def test_a_2024_starters_flat_index_lists_its_chats_each_opened_with_its_usage(
        chat_page: RecordingPage, starter2024_server: RunningServer) -> None:
    ui = ChatUI(chat_page.page, starter2024_server.url)
    expect(ui.page.locator("button.chat")).to_have_text(["Demo", "Quiet"])
    expect(ui.opening()).to_contain_text("This is the demo: type something and I repeat it.")
    expect(ui.send("hi")).to_contain_text("You said: hi")


def test_a_chat_that_answers_nothing_to_an_empty_message_gets_things_to_try(
        chat_page: RecordingPage, starter2024_server: RunningServer) -> None:
    ui = ChatUI(chat_page.page, starter2024_server.url)
    ui.choose("Quiet")
    welcome = ui.page.locator(".log:not([hidden]) .welcome")
    expect(welcome).to_contain_text("This is Quiet")
    expect(ui.opening()).to_have_count(0)
    welcome.get_by_role("button", name="Capital of Italy").click()
    expect(ui.replies().first).to_contain_text("Quiet heard: Capital of Italy")
    expect(welcome).to_have_count(0)


def test_an_index_the_page_cannot_read_is_shown_in_one_line(
        chat_page: RecordingPage, tmp_path: Path) -> None:
    project = copy_project("starter2024_project", tmp_path)
    (project / "packages" / "mastrogpt" / "index.py").write_text(
        "#--web true\ndef main(args):\n    return {'body': {'services': [['Demo', 'x']]}}\n")
    with serve(project, log_path=tmp_path / "log") as server:
        chat_page.page.goto(server.url + "/")
        expect(chat_page.page.locator("#chat-list p.error")).to_have_text(
            'The index lists no chat this page can read: it answered [["Demo","x"]]')


def test_the_page_loads_without_a_console_error(chat_page: RecordingPage,
                                                 streamwhisk_server: RunningServer) -> None:
    """No refused CSP source (Chromium has no syntax for an IPv6 literal), no failed load."""
    ChatUI(chat_page.page, streamwhisk_server.url)
    chat_page.page.reload()
    expect(chat_page.page.locator("button.chat").first).to_be_visible()
    assert chat_page.console_errors == []
    attach = chat_page.page.locator("#attach")
    assert attach.locator("svg").count() == 1 and attach.inner_text().strip() == ""


def test_a_conversation_survives_a_reload_and_is_listed(ui: ChatUI) -> None:
    ui.choose("Stateless")
    ui.send("Capital of Italy")
    ui.page.reload()
    ui.choose("Stateless")
    expect(ui.page.locator(".log:not([hidden]) p.user")).to_have_text(["Capital of Italy"])
    expect(ui.replies().first).to_contain_text("Rome")
    expect(ui.page.locator("#history button.past").first).to_have_text(
        "Capital of Italy · Stateless")


def test_new_chat_starts_afresh_and_the_old_one_reopens_from_the_list(ui: ChatUI) -> None:
    ui.choose("Stateless")
    ui.send("Capital of Italy")
    ui.page.click("#new-chat")
    expect(ui.replies()).to_have_count(0)
    expect(ui.opening()).to_contain_text("Welcome to the stateless chat")
    ui.page.locator("#history button.past", has_text="Capital of Italy").first.click()
    expect(ui.replies().first).to_contain_text("Rome")


def test_clear_empties_the_conversation_and_forgets_it(ui: ChatUI) -> None:
    ui.choose("Stateless")
    ui.send("Who are you?")
    ui.page.click("#clear-chat")
    expect(ui.replies()).to_have_count(0)
    expect(ui.page.locator("#history button.past", has_text="Who are you?")).to_have_count(0)


def test_the_chat_and_model_in_use_are_shown(ui: ChatUI) -> None:
    ui.choose("Stateless")
    expect(ui.page.locator("#chat-title")).to_have_text("Stateless")
    expect(ui.page.locator("#chat-model")).to_have_text("model: the chat's default")
    ui.send("deepseek")
    expect(ui.page.locator("#chat-model")).to_contain_text("model: deepseek")


def test_stop_is_the_obvious_button_while_a_reply_streams(ui: ChatUI) -> None:
    ui.choose("Stateless")
    ui.type_and_enter("tell me a long story")
    expect(ui.page.locator("#stop")).to_be_visible()
    expect(ui.page.locator("#send")).to_be_hidden()
    ui.page.click("#stop")
    expect(ui.page.locator("#send")).to_be_visible()


def test_a_code_block_has_a_copy_button(ui: ChatUI) -> None:
    ui.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ui.choose("Stateless")
    reply = ui.send("show me some markdown")
    reply.locator("pre .copy").click()
    expect(reply.locator("pre .copy")).to_have_text("Copied")
    copied = ui.page.evaluate("navigator.clipboard.readText()")
    assert copied == 'def hello():\n    return "world"\n'


def test_a_non_streamed_reply_says_so_and_plain_lines_stay_lines(ui: ChatUI) -> None:
    ui.choose("Simple")
    expect(ui.send("Who are you?").locator(".meta")).to_have_text(
        re.compile(r"answered in \d+ ms \(not streamed\)"))
    ui.choose("Countdown")
    lines = ui.send("1").locator(".md").first.inner_text().splitlines()
    assert [line for line in lines if line.strip()] == ["1...", "Go!"]


def test_a_finished_code_block_is_highlighted(ui: ChatUI) -> None:
    ui.choose("Stateless")
    reply = ui.send("show me some markdown")
    code = reply.locator("pre code.hljs")
    expect(code).to_have_count(1)
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    expect(code.locator(".hljs-string").first).to_have_text('"world"')


def test_a_project_without_an_index_lists_its_web_actions_by_package(
        chat_page: RecordingPage, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "packages" / "chat").mkdir(parents=True)
    (project / "packages" / "tools").mkdir()
    (project / "packages" / "chat" / "countdown.py").write_text(
        (REPO / "packages" / "chat" / "countdown.py").read_text())
    (project / "packages" / "tools" / "echo.py").write_text(
        "#--web true\ndef main(args):\n    return {'body': {'output': 'echo: ' + args['input']}}\n")
    (project / "packages" / "tools" / "hidden.py").write_text(
        "def main(args):\n    return {'body': 'not web'}\n")
    with serve(project, log_path=tmp_path / "log") as server:
        ui = ChatUI(chat_page.page, server.url)
        expect(ui.page.locator("#chat-list h2")).to_have_text(["chat", "tools"])
        expect(ui.page.locator("button.chat")).to_have_text(["countdown", "echo"])
        expect(ui.page.locator("#chat-list p.note")).to_contain_text("no mastrogpt/index")
        ui.choose("echo")
        expect(ui.send("hi").locator(".md")).to_have_text("echo: hi")
        assert chat_page.errors == []


def test_with_no_chat_to_pick_sending_says_so_and_keeps_the_message(
        chat_page: RecordingPage, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "packages" / "tools").mkdir(parents=True)
    (project / "packages" / "tools" / "hidden.py").write_text(
        "def main(args):\n    return {'body': 'not web'}\n")
    with serve(project, log_path=tmp_path / "log") as server:
        page = chat_page.page
        page.goto(server.url + "/")
        expect(page.locator("#chat-list p.none")).to_contain_text("No web actions yet")
        page.fill("#input", "anyone there?")
        page.press("#input", "Enter")
        expect(page.locator("#hint")).to_have_text(re.compile("^Pick a chat on the left first"))
        expect(page.locator("#input")).to_have_value("anyone there?")
        assert chat_page.errors == []
