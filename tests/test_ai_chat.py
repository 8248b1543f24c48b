"""`streamwhisk chat` as a person uses it, in a pseudo-terminal (pexpect), against `up` serving
the starter-layout project: replies stream, `state` is kept, a form is asked field by field,
`@path` goes to the object store (or inline), options and display fields are shown, Ctrl-C
stops a reply and Ctrl-D leaves."""

from __future__ import annotations

import base64
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support import copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5Erk"
    "Jggg==")
UNSET: dict[str, str | None] = {name: None for name in (
    "REDIS_URL", "REDIS_PREFIX", "S3_HOST", "S3_PORT", "S3_API_URL", "S3_ACCESS_KEY",
    "S3_SECRET_KEY", "S3_BUCKET_DATA", "S3_BUCKET_STATIC", "OLLAMA_HOST")}


@pytest.fixture(scope="module")
def starter_up(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[RunningServer, Path, dict[str, str]]]:
    root = tmp_path_factory.mktemp("chat")
    project = copy_project("starter_project", root)
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(root / "data"), "TERM": "dumb",
           "HOME": str(root)}  # the chat's history goes to this HOME's data folder
    with serve(project, "--services", "auto", "--dev-ollama", "never",
               log_path=root / "up.log", startup_timeout=60,
               env={**UNSET, "STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"]}) as up:
        assert wait_until(lambda: "service s3 ready" in up.log(), timeout=60), up.log()
        yield up, project, {k: v for k, v in env.items() if k not in UNSET}


def as_a_background_job() -> None:
    """What a shell without job control does to a command it starts with `&`, and so what
    every command under a backgrounded `make test` inherits: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def chat(starter_up: tuple[RunningServer, Path, dict[str, str]], action: str,
         *options: str) -> pexpect.spawn:
    """The chat in a terminal of its own, started with SIGINT ignored (as under a
    backgrounded `make test`): its Ctrl-C must work however it was started."""
    up, project, env = starter_up
    session = pexpect.spawn(sys.executable, ["-m", "streamwhisk", "chat", action, "--url",
                                             up.url, "--project", str(project), *options],
                            env=env, encoding="utf-8", timeout=60, dimensions=(40, 200),
                            preexec_fn=as_a_background_job)
    session.expect_exact(f"{action}> ")
    return session


def say(session: pexpect.spawn, text: str, action: str, *expected: str) -> None:
    session.sendline(text)
    for answer in expected:
        session.expect_exact(answer)
    session.expect_exact(f"{action}> ")


def press(session: pexpect.spawn, key: str, then: str) -> None:
    """Press Ctrl-`key` until `then` shows: a key pressed in the instant between a reply and
    the prompt's taking the terminal is the terminal's, not the prompt's, as for a person."""
    for _ in range(40):
        session.sendcontrol(key)
        if session.expect_exact([then, pexpect.TIMEOUT], timeout=0.5) == 0:
            return
    raise AssertionError(f"Ctrl-{key.upper()} never gave {then!r}: {session.before!r}")


def leave(session: pexpect.spawn) -> None:
    press(session, "d", "bye")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0


def test_replies_stream_and_the_state_is_kept_streamed_or_returned(
        starter_up: tuple[RunningServer, Path, dict[str, str]]) -> None:
    session = chat(starter_up, "demo/stream")
    say(session, "hello", "demo/stream", "Turn 1: you said hello")
    say(session, "again", "demo/stream", "Turn 2: you said again")
    leave(session)
    fields = chat(starter_up, "demo/fields")  # opened with an empty invocation: request 1
    say(fields, "one", "demo/fields", "request 2")
    say(fields, "two", "demo/fields", "request 3")
    say(fields, "options", "demo/fields", "Pick one.", "options: red | green")
    say(fields, "chess", "demo/fields", 'display: {"chess": "rnbqkbnr/pp1ppppp/8/2p5/')
    leave(fields)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A 1x1 PNG, as a learner's picture."""
    path = tmp_path / "pixel.png"
    path.write_bytes(PIXEL)
    return path


def test_a_form_is_asked_field_by_field(
        starter_up: tuple[RunningServer, Path, dict[str, str]], picture: Path) -> None:
    session = chat(starter_up, "demo/fields")
    session.sendline("form")
    session.expect_exact("Please fill the form.")
    for prompt, typed in (("Your job *: ", ""), ("Your job *: ", "pilot"),
                          ("Why?: ", "because"), ("Age (a number): ", "many"),
                          ("Age (a number): ", "42"), ("Day (YYYY-MM-DD): ", "2026-11-30"),
                          ("I agree [y/n]: ", "y"), ("Tone (formal | friendly): ", "loud"),
                          ("Tone (formal | friendly): ", "friendly"),
                          ("Size (small | large): ", "large"),
                          ("A picture (a file's path): ", str(picture))):
        session.expect_exact(prompt)
        session.sendline(typed)
    session.expect_exact('FORM {"age": 42, "agree": true, "day": "2026-11-30", "job": "pilot", '
                         f'"pic": "{len(PIXEL)} bytes", "size": "large", "tone": "friendly", '
                         '"why": "because"}')
    session.expect_exact("demo/fields> ")
    leave(session)


def test_a_file_goes_to_the_object_store_or_inline(
        starter_up: tuple[RunningServer, Path, dict[str, str]], picture: Path) -> None:
    stored = chat(starter_up, "demo/fields")
    say(stored, f"describe @{picture}", "demo/fields",
        f"got pixel.png (image/png, {len(PIXEL)} bytes): describe @uploads/pixel.png")
    leave(stored)
    inline = chat(starter_up, "demo/fields", "--inline")
    say(inline, f"describe @{picture}", "demo/fields",
        f"got pixel.png (image/png, {len(PIXEL)} bytes): describe @{picture}")
    leave(inline)


def test_ctrl_c_stops_the_reply_and_the_chat_goes_on_then_ctrl_c_leaves(
        starter_up: tuple[RunningServer, Path, dict[str, str]]) -> None:
    session = chat(starter_up, "demo/stream")
    session.sendline("slow")
    session.expect_exact("word3 ")
    session.sendintr()
    session.expect_exact("(stopped)")
    session.expect_exact("demo/stream> ")
    assert "word399" not in (session.before or "")
    # the chat goes on; the stopped turn never got to send its state
    say(session, "after", "demo/stream", "Turn 1: you said after")
    press(session, "c", "bye")
    session.expect(pexpect.EOF)


def test_json_shows_the_raw_messages(
        starter_up: tuple[RunningServer, Path, dict[str, str]]) -> None:
    session = chat(starter_up, "demo/stream", "--json")
    say(session, "hi", "demo/stream", '{"output": "Turn "}', '{"state": "{\\"turns\\": 1}"}',
        '{"done": true, "result": {"body": {"output": "Turn 1: you said hi"')
    leave(session)


def test_words_after_the_action_are_the_first_message(
        starter_up: tuple[RunningServer, Path, dict[str, str]]) -> None:
    up, project, env = starter_up
    session = pexpect.spawn(sys.executable, ["-m", "streamwhisk", "chat", "demo/stream",
                                             "first", "words", "--url", up.url, "--project",
                                             str(project)], env=env, encoding="utf-8",
                            timeout=60)
    session.expect_exact("Turn 1: you said first words")
    session.expect_exact("demo/stream> ")
    leave(session)


@pytest.fixture(scope="module")
def starter2024_up(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[RunningServer, Path, dict[str, str]]]:
    """A 2024 starter with a chat named as its package (hello/hello), its `up` on a port of
    its own choosing, noted in this test's data folder."""
    root = tmp_path_factory.mktemp("chat2024")
    project = copy_project("starter2024_project", root)
    (project / "packages" / "hello").mkdir()
    (project / "packages" / "hello" / "hello.py").write_text(
        "#--web true\ndef main(args):\n"
        "    return {'body': {'output': 'hello: ' + str(args.get('input', '(opening)'))}}\n")
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(root / "data"), "TERM": "dumb",
           "HOME": str(root)}
    with serve(project, log_path=root / "up.log",
               env={"STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"]}) as up:
        yield up, project, {k: v for k, v in env.items() if k != "STREAMWHISK_URL"}


def test_a_chat_opens_with_its_answer_to_an_empty_message_at_the_projects_own_up(
        starter2024_up: tuple[RunningServer, Path, dict[str, str]]) -> None:
    """No --url: the chat finds the `up` serving the project, whatever its port; a bare NAME
    is NAME/NAME, as `ops ai chat NAME` has it."""
    up, project, env = starter2024_up
    session = pexpect.spawn(sys.executable, ["-m", "streamwhisk", "chat", "hello"],
                            cwd=str(project), env=env, encoding="utf-8", timeout=60,
                            dimensions=(40, 200))
    session.expect_exact(f"chatting with hello/hello at {up.url}")
    session.expect_exact("hello: (opening)")
    session.expect_exact("hello/hello> ")
    say(session, "there", "hello/hello", "hello: there")
    leave(session)
    demo = pexpect.spawn(sys.executable, ["-m", "streamwhisk", "chat", "mastrogpt/demo"],
                         cwd=str(project), env=env, encoding="utf-8", timeout=60)
    demo.expect_exact("This is the demo: type something and I repeat it.")
    demo.expect_exact("mastrogpt/demo> ")
    leave(demo)
