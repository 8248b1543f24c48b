"""What `ops ai` gives a learner, through the real commands: `new` (whose tests pass at once),
`user` (a login through `up` right after), `invoke -P`, and `loader` (the chunks then found by
the project's vector search in the local Milvus)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pexpect
import pytest
from support import copy_project, run_streamwhisk

from streamwhisk.testing import RunningServer, serve, wait_until

# the values of a developer's shell must not choose the services
UNSET: dict[str, str | None] = {name: None for name in (
    "REDIS_URL", "REDIS_PREFIX", "S3_HOST", "S3_PORT", "S3_API_URL", "S3_ACCESS_KEY",
    "S3_SECRET_KEY", "S3_BUCKET_DATA", "MILVUS_HOST", "MILVUS_TOKEN", "MILVUS_DB_NAME",
    "OLLAMA_HOST", "AUTH")}


def user_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "no-login.env")}
    for name in UNSET:
        env.pop(name, None)
    return env


def test_new_writes_the_course_layout_whose_tests_pass_at_once(
        logged_in: dict[str, str], tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    made = run_streamwhisk("new", "greet", "demo", "--project", str(project), env=logged_in)
    assert made.returncode == 0, made.stderr
    main = project / "packages/demo/greet/__main__.py"
    assert main.read_text().startswith("#--kind python:default\n#--web true\n")
    assert (project / "packages/demo/greet/greet.py").is_file()
    tests = sorted(p.name for p in (project / "tests/demo").iterdir())
    assert tests == ["test_greet.py", "test_greet_int.py"]
    ran = run_streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider",
                          "tests/demo", env=logged_in)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 passed" in ran.stdout

    main.write_text(main.read_text() + "# mine\n")
    again = run_streamwhisk("new", "greet", "demo", "--project", str(project), env=logged_in)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert main.read_text().endswith("# mine\n")  # nothing overwritten
    alone = run_streamwhisk("new", "solo", "--project", str(project), env=logged_in)
    assert alone.returncode == 0 and (project / "packages/solo/solo/solo.py").is_file()
    bad = run_streamwhisk("new", "no-dash", "--project", str(project), env=logged_in)
    assert bad.returncode == 1 and "Python module" in bad.stderr


def test_new_in_a_folder_without_packages_makes_it_and_says_so(
        logged_in: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "fresh"
    empty.mkdir()
    made = run_streamwhisk("new", "hello", cwd=empty, env=logged_in)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == f"created packages/ in {empty} (a new project)"
    assert (empty / "packages/hello/hello/__main__.py").is_file()


def login(url: str, name: str, password: str) -> dict[str, object]:
    answer = httpx.post(url + "/api/my/mastrogpt/login",
                        json={"username": name, "password": password}, timeout=60)
    return dict(answer.json())


def test_users_added_updated_and_deleted_log_in_through_up_at_once(tmp_path: Path) -> None:
    project = copy_project("starter_project", tmp_path)
    env = user_env(tmp_path)
    users = project / "packages/mastrogpt/login/users.json"
    added = run_streamwhisk("user", "add", "tester", "--password-stdin", "--project",
                            str(project), env=env, stdin="first-pass\n")
    assert added.returncode == 0, added.stderr
    hashed = json.loads(users.read_text())["tester"]
    assert bcrypt.checkpw(b"first-pass", hashed.encode())
    assert "demo" in json.loads(users.read_text())  # the others stay
    twice = run_streamwhisk("user", "add", "tester", "--password-stdin", "--project",
                            str(project), env=env, stdin="other-pass\n")
    assert twice.returncode == 1 and "user update tester" in twice.stderr
    short = run_streamwhisk("user", "add", "shorty", "--password-stdin", "--project",
                            str(project), env=env, stdin="abc\n")
    assert short.returncode == 1 and "too short" in short.stderr

    with serve(project, "--services", "auto", "--dev-ollama", "never",
               log_path=tmp_path / "up.log", env={**UNSET, "STREAMWHISK_DATA_DIR":
                                                  env["STREAMWHISK_DATA_DIR"]}) as up:
        assert wait_until(lambda: "service redis ready" in up.log(), timeout=60), up.log()
        assert login(up.url, "tester", "first-pass")["authenticated"] is True
        typed = pexpect.spawn(sys.executable, ["-m", "streamwhisk", "user", "update", "tester",
                                               "--project", str(project)], env=env,
                              encoding="utf-8", timeout=60)
        typed.expect("Password: ")
        typed.sendline("second-pass")
        typed.expect("Repeat for confirmation: ")
        typed.sendline("typo-pass")
        typed.expect("do not match")
        typed.expect("Password: ")
        typed.sendline("second-pass")
        typed.expect("Repeat for confirmation: ")
        typed.sendline("second-pass")
        typed.expect(pexpect.EOF)
        assert "second-pass" not in (typed.before or "")  # never echoed
        typed.close()
        assert typed.exitstatus == 0
        assert login(up.url, "tester", "first-pass")["authenticated"] is False
        assert login(up.url, "tester", "second-pass")["authenticated"] is True
        gone = run_streamwhisk("user", "delete", "tester", "--project", str(project), env=env)
        assert gone.returncode == 0, gone.stderr
        assert login(up.url, "tester", "second-pass")["authenticated"] is False


def test_user_needs_the_projects_login_action(tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    done = run_streamwhisk("user", "add", "x", "--password-stdin", "--project", str(project),
                           env=user_env(tmp_path), stdin="secret-pass\n")
    assert done.returncode == 1 and "packages/mastrogpt/login" in done.stderr


def test_invoke_reads_parameters_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    env = user_env(tmp_path)
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"input": "from a file"}))
    echo = ("invoke", "chat/echo", "--project", str(project), "--dev-ollama", "never")
    from_file = run_streamwhisk(*echo, "-P", str(params), env=env)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["body"]["output"] == "you said: from a file"
    piped = run_streamwhisk(*echo, "-P", "-", "-p", "input", "over", env=env,
                            stdin=json.dumps({"input": "piped"}))
    assert json.loads(piped.stdout)["body"]["output"] == "you said: over"  # -p goes over -P
    for wrong, said in (("[1, 2]", "a JSON object"), ("{oops", "not JSON")):
        refused = run_streamwhisk(*echo, "-P", "-", env=env, stdin=wrong)
        assert refused.returncode == 1 and said in refused.stderr


def pdf_with(lines: list[str]) -> bytes:
    """A one-page PDF with these lines of text, as a word processor would write them."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def loader_up(tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[RunningServer, Path, Path]]:
    root = tmp_path_factory.mktemp("loader")
    project = copy_project("loader_project", root)
    data = root / "data"
    with serve(project, "--services", "auto", "--dev-ollama", "always",
               log_path=root / "up.log", startup_timeout=60,
               env={**UNSET, "STREAMWHISK_DATA_DIR": str(data),
                    "STREAMWHISK_LOGIN_FILE": str(root / "no-login.env")}) as up:
        assert wait_until(lambda: "service milvus ready" in up.log(), timeout=90), up.log()
        yield up, project, data


def test_loader_sends_text_markdown_and_pdf_chunks_that_vector_search_then_finds(
        loader_up: tuple[RunningServer, Path, Path], tmp_path: Path) -> None:
    up, project, data = loader_up
    notes = tmp_path / "notes.md"
    notes.write_text("# Animals\n\nThe zebra migration crosses the Mara river every July.\n\n"
                     "Penguins huddle together through the antarctic winter night.\n\n"
                     + " ".join(f"owl{i} hoots at night." for i in range(40)) + "\n")
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(pdf_with(["Volcanoes erupt molten basalt lava.",
                                "Glaciers carve deep fjords over centuries."]))
    env = {**user_env(tmp_path), "STREAMWHISK_DATA_DIR": str(data)}  # up's run key is there
    command = ("loader", str(notes), str(paper), "--collection", "lesson", "--chunksize",
               "120", "--clean", "--url", up.url, "--project", str(project))
    loaded = run_streamwhisk(*command, env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    sent = int(loaded.stderr.split("sent ")[1].split(" chunk")[0])
    assert sent >= 8  # the long line cut at its spaces, not skipped

    def ask(text: str) -> str:
        answer = httpx.post(up.url + "/api/my/mastrogpt/loader",
                            json={"input": text, "state": "lesson"}, timeout=60)
        return str(answer.json()["output"])

    assert ask("#") == str(sent)
    assert "zebra migration" in ask("?when does the zebra migration cross the river")
    assert "basalt lava" in ask("?volcanoes erupt basalt lava")  # from the PDF
    again = run_streamwhisk(*command, env=env)  # --clean: the collection starts over
    assert again.returncode == 0 and ask("#") == str(sent)
    missing = run_streamwhisk("loader", str(tmp_path / "absent.txt"), "--url", up.url,
                              "--project", str(project), env=env)
    assert missing.returncode == 1 and "no file at" in missing.stderr
    stopped = run_streamwhisk("loader", str(notes), "--url", "http://127.0.0.1:9",
                              "--project", str(project), env=env)
    assert stopped.returncode == 1 and "no streamwhisk up answers" in stopped.stderr


def test_users_added_at_once_are_all_kept_in_a_private_file(tmp_path: Path) -> None:
    project = copy_project("starter_project", tmp_path)
    env = {**os.environ, "HOME": str(tmp_path)}
    adds = [subprocess.Popen([sys.executable, "-m", "streamwhisk", "user", "add", f"user{n}",
                              "--project", str(project), "--password-stdin"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env) for n in range(20)]
    for add in adds:
        add.communicate(b"secret-password\n", timeout=120)
        assert add.returncode == 0
    path = project / "packages" / "mastrogpt" / "login" / "users.json"
    assert {f"user{n}" for n in range(20)} <= set(json.loads(path.read_text()))
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(path.parent.glob(".users-*"))  # no temporary file left


@pytest.mark.parametrize(("name", "password", "said"), [
    ("", "secret-password", "cannot log in"), ("a:b", "secret-password", "cannot log in"),
    ("a/b", "secret-password", "cannot log in"), ("a\tb", "secret-password", "cannot log in"),
    ("ok", "x" * 73, "too long: bcrypt reads 72 bytes")])
def test_a_user_the_login_cannot_take_is_one_clear_line(tmp_path: Path, name: str,
                                                         password: str, said: str) -> None:
    project = copy_project("starter_project", tmp_path)
    done = run_streamwhisk("user", "add", name, "--project", str(project), "--password-stdin",
                           env={**os.environ, "HOME": str(tmp_path)}, stdin=password + "\n")
    assert done.returncode == 1
    assert said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_the_run_key_goes_only_to_the_runs_own_up(runtime_project: Path,
                                                   tmp_path: Path) -> None:
    """`up` keeps the key it made for its run; `loader --url` sends it to that up (by any of
    its loopback names), never to another host that has the same port."""
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "no-login.env")}
    env.pop("AUTH", None)
    text = tmp_path / "notes.txt"
    text.write_text("some words")
    seen: list[str | None] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("authorization"))
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"output": "ok"}')

        def log_message(self, *args: object) -> None:
            pass

    with serve(runtime_project, "--services", "none", log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"], "AUTH": None}) as up:
        port = int(up.url.rsplit(":", 1)[1])
        other = http.server.HTTPServer(("127.0.0.2", port), Recorder)
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            elsewhere = run_streamwhisk("loader", str(text), "--action", "t/echo", "--url",
                                        f"http://127.0.0.2:{port}", "--project",
                                        str(runtime_project), env=env)
            assert elsewhere.returncode == 0, elsewhere.stderr
            assert seen and seen == [None] * len(seen)  # no key went there
            own = run_streamwhisk("loader", str(text), "--action", "t/echo", "--url",
                                  f"http://localhost:{port}", "--project",
                                  str(runtime_project), env=env)
            assert own.returncode == 0, own.stderr  # its own up took its key
        finally:
            other.shutdown()


def test_loader_opts_go_with_every_chunk_as_options(
        loader_up: tuple[RunningServer, Path, Path], tmp_path: Path) -> None:
    up, project, data = loader_up
    notes = tmp_path / "notes.txt"
    notes.write_text("One line.\nAnother line.\n")
    env = {**user_env(tmp_path), "STREAMWHISK_DATA_DIR": str(data)}
    command = ("loader", str(notes), "--action", "mastrogpt/strict", "--url", up.url,
               "--project", str(project))
    with_opts = run_streamwhisk(*command, "--opts", '{"model": "mxbai-embed-large"}', env=env)
    assert with_opts.returncode == 0, with_opts.stderr
    without = run_streamwhisk(*command, env=env)
    assert without.returncode == 1 and "options were None" in without.stderr
    bad = run_streamwhisk(*command, "--opts", "[1]", env=env)
    assert bad.returncode == 1 and "--opts must be a JSON object" in bad.stderr
