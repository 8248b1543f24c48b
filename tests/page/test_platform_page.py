"""The page at the platform's level, in a real Chromium against `up` serving a project in the
MastroGPT starter's layout (tests/fixtures/starter_project, ours): its own web/ site at `/`,
login through its mastrogpt/login (Redis), the index's list format with users, the streamer at
stream.localhost, forms, options, state, attachments, images from data: URLs and the local
object store at s3.localhost, and the display in a sandboxed frame."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from support import copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

from .pages import ChatPage, RecordingPage

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5Erk"
    "Jggg==")
# the values of a developer's shell must not choose the services
UNSET: dict[str, str | None] = {name: None for name in (
    "REDIS_URL", "REDIS_PREFIX", "S3_HOST", "S3_PORT", "S3_API_URL", "S3_ACCESS_KEY",
    "S3_SECRET_KEY", "S3_BUCKET_DATA", "OPSDEV_HOST", "OPSDEV_APIHOST", "OLLAMA_HOST")}


def starter(tmp_path_factory: pytest.TempPathFactory, name: str,
            change: str | None = None) -> Iterator[RunningServer]:
    project = copy_project("starter_project", tmp_path_factory.mktemp(name))
    if change == "no display":
        shutil.rmtree(project / "packages" / "mastrogpt" / "display")
    data = tmp_path_factory.mktemp(f"{name}-data")
    with serve(project, "--services", "auto", "--dev-ollama", "never",
               log_path=project / "server.log", startup_timeout=60,
               env={**UNSET, "STREAMWHISK_DATA_DIR": str(data)}) as running:
        assert wait_until(lambda: "service redis ready" in running.log()
                          and "service s3 ready" in running.log(), timeout=60), running.log()
        yield running


@pytest.fixture(scope="module")
def starter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from starter(tmp_path_factory, "starter")


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The same project without its mastrogpt/display."""
    yield from starter(tmp_path_factory, "bare", "no display")


def public(server: RunningServer, prefix: str = "") -> str:
    return f"http://{prefix}localhost:{server.url.rsplit(':', 1)[1]}"


class StarterUI(ChatPage):
    def __init__(self, page: Page, server: RunningServer, user: str | None = "demo") -> None:
        super().__init__(page)
        page.goto(public(server) + "/_streamwhisk/")
        if user is not None:
            self.log_in(user)

    def log_in(self, user: str, password: str | None = None) -> None:
        self.page.get_by_label("Username").fill(user)
        self.page.get_by_label("Password").fill(password or f"{user}-pass")
        self.page.get_by_role("button", name="Log in").click()
        if password is None:
            expect(self.page.locator("button.chat").first).to_be_visible()
            self.settled()


def test_the_projects_site_is_served_at_root_and_picks_up_edits(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    page = chat_page.page
    page.goto(public(starter_server) + "/")
    expect(page.locator("#site")).to_have_text("The starter's own site")
    assert page.locator("#site").evaluate("e => getComputedStyle(e).color") == "rgb(10, 20, 30)"
    page.get_by_role("link", name="About").click()
    expect(page.locator("#about")).to_have_text("About this site")
    index = starter_server.log_path.parent / "web" / "index.html"
    index.write_text(index.read_text().replace("own site", "edited site"))
    page.goto(public(starter_server) + "/")
    expect(page.locator("#site")).to_have_text("The starter's edited site")
    page.goto(public(starter_server) + "/_streamwhisk/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_the_site_serves_nothing_outside_web_and_lists_no_folder(
        starter_server: RunningServer, tmp_path: Path) -> None:
    web = starter_server.log_path.parent / "web"
    (web / "empty").mkdir(exist_ok=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    (web / "link.txt").symlink_to(outside)
    with httpx.Client(base_url=starter_server.url, timeout=30) as client:
        assert client.get("/about/").headers["content-type"].startswith("text/html")
        assert client.get("/style.css").headers["content-type"].startswith("text/css")
        assert client.get("/empty/").status_code == 404  # no listing
        assert client.get("/link.txt").status_code == 404
        for path in ("/../packages/demo/echo.py", "/%2e%2e/packages/demo/echo.py",
                     "/..%2fpackages/demo/echo.py"):
            answer = client.send(client.build_request("GET", path))
            assert answer.status_code == 404 and "def main" not in answer.text


def test_login_lists_the_users_chats_and_sends_the_token_with_every_request(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server, user=None)
    page = ui.page
    ui.log_in("demo", "wrong")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    ui.log_in("demo")
    expect(page.locator("#chat-list h2")).to_have_text(["Demo", "Account", "Legacy"])
    expect(page.locator("button.chat")).to_have_text(
        ["Fields", "Stream", "About the site", "Who am I",
         "Echo (legacy menu)"])  # not "Admin only"
    ui.choose("Who am I")
    expect(ui.send("who")).to_contain_text("you are demo")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    ui.log_in("admin")
    expect(page.get_by_role("button", name="Admin only")).to_be_visible()
    ui.choose("Who am I")
    expect(ui.send("who")).to_contain_text("you are admin")


def test_replies_stream_from_stream_localhost_and_keep_streamed_state(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("Stream")
    expect(ui.send("hello")).to_contain_text("Turn 1: you said hello")
    expect(ui.send("again")).to_contain_text("Turn 2: you said again")  # the streamed state
    streamed = [u for u in chat_page.requested if "/web/_/demo/stream" in u]
    assert streamed and all(u.startswith(public(starter_server, "stream.")) for u in streamed)
    ui.choose("Fields")  # opened with an empty invocation: its request 1
    expect(ui.opening()).to_contain_text("request 1")
    expect(ui.send("one")).to_contain_text("request 2")
    expect(ui.send("two")).to_contain_text("request 3")  # the state of the result


def test_the_streamer_and_store_names_answer_cors_for_the_servers_own_origins_only(
        starter_server: RunningServer) -> None:
    port = starter_server.url.rsplit(":", 1)[1]
    own, stream = public(starter_server), f"stream.localhost:{port}"
    with httpx.Client(base_url=starter_server.url, timeout=60) as client:
        answer = client.post("/web/_/demo/echo", json={"input": "x"},
                             headers={"Host": stream, "Origin": own})
        assert answer.status_code == 200 and "echo: x" in answer.text
        assert answer.headers["access-control-allow-origin"] == own
        refused = client.post("/web/_/demo/echo", json={"input": "x"},
                              headers={"Host": stream, "Origin": "http://evil.example"})
        assert refused.status_code == 403
        preflight = client.options("/web/_/demo/echo", headers={
            "Host": stream, "Origin": own, "Access-Control-Request-Method": "POST"})
        assert preflight.headers["access-control-allow-origin"] == own
        assert client.get("/api/my/demo/echo", headers={"Host": stream}).status_code == 404
        assert client.get("/", headers={"Host": f"evil.localhost:{port}"}).status_code == 421
        store = client.get("/", headers={"Host": f"s3.localhost:{port}", "Origin": own})
        assert store.status_code == 403  # the store's own answer to an unsigned request
        assert store.headers["access-control-allow-origin"] == own
        for private in ("/guest-data/pixel.png", "/guest-web", "/guest-data"):  # no listing
            assert client.get(private, headers={"Host": f"s3.localhost:{port}"}).status_code \
                == 403
        foreign = client.options("/guest-data/x", headers={
            "Host": f"s3.localhost:{port}", "Origin": "http://evil.example",
            "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in foreign.headers


def test_a_form_with_every_field_type_sends_its_values_as_the_platform_page_does(
        chat_page: RecordingPage, starter_server: RunningServer, tmp_path: Path) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("Fields")
    form = ui.send("form").locator("form.reply-form")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_label("Your job")).to_have_js_property("validity.valueMissing", True)
    form.get_by_label("Your job").fill("pilot")
    form.get_by_label("Why?").fill("because\nit flies")
    form.get_by_label("Age").fill("42")
    form.get_by_label("Day").fill("2026-11-30")
    form.get_by_label("I agree").check()
    form.get_by_label("friendly").check()
    form.get_by_label("Size").select_option("large")
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PIXEL)
    form.get_by_label("A picture").set_input_files(str(picture))
    before = ui.replies().count()
    form.get_by_role("button", name="Submit").click()
    reply = ui.replies().nth(before)
    expect(reply).to_contain_text("FORM")
    sent = json.loads(reply.inner_text().split("FORM ", 1)[1].splitlines()[0])
    assert sent == {"job": "pilot", "why": "because\nit flies", "age": 42, "day": "2026-11-30",
                    "agree": True, "tone": "friendly", "size": "large",
                    "pic": f"{len(PIXEL)} bytes"}


def test_fields_go_to_the_display_in_a_sandboxed_frame_beside_or_below(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    page = ui.page
    ui.choose("Fields")
    ui.send("chess")
    expect(page.locator("#display")).to_be_visible()
    frame = page.locator("#display iframe")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("#display iframe").locator("svg")).to_be_visible()
    page.get_by_role("button", name="Show below").click()
    assert page.evaluate("document.body.classList.contains('display-below')")
    title = page.title()
    ui.send("html")
    expect(page.frame_locator("#display iframe").locator("#shown")).to_have_text(
        "Shown in a frame")
    assert page.title() == title  # its script did not run
    ui.send("message")
    expect(page.frame_locator("#display iframe").locator(".card h2")).to_have_text(
        "This is the title")


def test_without_a_display_code_html_and_messages_show_in_the_reply(
        chat_page: RecordingPage, bare_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, bare_server)
    ui.choose("Fields")
    code = ui.send("code").locator("pre.field-code code")
    expect(code).to_have_class("language-python hljs")
    expect(code).to_contain_text("def sum_to(n):")
    frame = ui.send("html").locator("iframe.field-html")
    expect(frame).to_have_attribute("sandbox", "")
    expect(ui.page.frame_locator("iframe.field-html").last.locator("#shown")).to_be_visible()
    card = ui.send("message").locator(".card")
    expect(card).to_contain_text("This is the title")
    expect(card).to_contain_text("This is the message.")
    expect(ui.page.locator("#display")).to_be_hidden()


def test_options_are_buttons_that_send_their_value(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("Fields")
    reply = ui.send("options")
    expect(reply.locator("button.option")).to_have_text(["red", "green"])
    before = ui.replies().count()
    reply.get_by_role("button", name="green").click()
    expect(ui.replies().nth(before)).to_contain_text("You said 'green'")
    ui.page.reload()  # the conversation comes back with its fields, the buttons still there
    ui.choose("Fields")
    expect(ui.replies().locator("button.option")).to_have_text(["red", "green"])


def test_an_attached_image_shows_as_a_thumbnail_and_goes_as_base64(
        chat_page: RecordingPage, starter_server: RunningServer, tmp_path: Path) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("Fields")
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PIXEL)
    ui.page.locator("#attach-file").set_input_files(str(picture))
    expect(ui.page.locator("#attachment img.thumbnail")).to_be_visible()
    reply = ui.send("look")
    expect(reply).to_contain_text(f"got pixel.png (image/png, {len(PIXEL)} bytes): look")
    expect(ui.page.locator(".log:not([hidden]) p.user img.thumbnail")).to_be_visible()
    expect(ui.page.locator("#attachment")).to_be_hidden()


def test_images_from_data_urls_and_the_local_object_store_are_shown(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("Fields")
    inline = ui.send("picture").locator("img.reply-image")
    expect(inline).to_have_js_property("naturalWidth", 1)
    # presigned for the public address, or moved to it; or public (the static bucket)
    for how in ("stored", "moved", "public"):
        stored = ui.send(how).locator("img.reply-image")
        expect(stored).to_have_js_property("naturalWidth", 1)
        assert stored.get_attribute("src").startswith(public(starter_server, "s3.") + "/")


def test_a_chat_whose_entry_names_a_page_shows_it_beside(
        chat_page: RecordingPage, starter_server: RunningServer) -> None:
    ui = StarterUI(chat_page.page, starter_server)
    ui.choose("About the site")
    expect(ui.page.locator("#display")).to_be_visible()
    expect(ui.page.frame_locator("#display iframe").locator("#about")).to_have_text(
        "About this site")
    expect(ui.send("hi")).to_contain_text("The page beside this chat is the site's.")
