"""The bundled dev Ollama: Ollama's API shapes over real HTTP, and the official client on it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest

from streamwhisk.testing import RunningServer, serve_dev_ollama, wait_until


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("ollama") / "log"
    with serve_dev_ollama("--token-rate", "0", "--auth", "", log_path=log) as running:
        yield running


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("slow-ollama") / "log"
    with serve_dev_ollama("--token-rate", "100", "--auth", "", log_path=log) as running:
        yield running


def lines(server: RunningServer, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.post(server.url + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def test_root_answers_like_ollama_and_every_listing_says_dev_model(dev: RunningServer) -> None:
    root = httpx.get(dev.url)
    assert root.text == "Ollama is running"
    assert root.headers["server"] == "streamwhisk-dev-ollama"
    assert "streamwhisk-dev" in httpx.get(dev.url + "/api/version").json()["version"]
    models = httpx.get(dev.url + "/api/tags").json()["models"]
    assert {m["name"] for m in models} >= {"llama3.1:8b", "deepseek-r1:32b"}
    assert all(m["details"]["family"] == "streamwhisk-dev" for m in models)
    shown = httpx.post(dev.url + "/api/show", json={"model": "deepseek-r1:32b"}).json()
    assert "thinking" in shown["capabilities"] and "not an LLM" in json.dumps(shown)


def test_generate_streams_deltas_then_a_final_line_with_counts(dev: RunningServer) -> None:
    body = {"model": "llama3.1:8b", "prompt": "Capital of Italy"}
    streamed = lines(dev, "/api/generate", body)
    *chunks, final = streamed
    assert all(c["done"] is False and c["model"] == "llama3.1:8b" and "created_at" in c
               for c in chunks)
    text = "".join(c["response"] for c in chunks)
    assert "Rome" in text and "not an LLM" in text
    assert final["done"] is True and final["response"] == "" and final["done_reason"] == "stop"
    assert final["eval_count"] == len(chunks)
    assert all(isinstance(final[k], int) for k in ("total_duration", "eval_duration",
                                                   "prompt_eval_count", "load_duration"))
    whole = httpx.post(dev.url + "/api/generate", json={**body, "stream": False}).json()
    assert whole["response"] == text and whole["done"] is True


def test_chat_streams_message_content(dev: RunningServer) -> None:
    body = {"model": "llama3.1:8b",
            "messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "hello"},
                         {"role": "user", "content": "Capital of Italy"}]}
    *chunks, final = lines(dev, "/api/chat", body)
    assert all(c["message"]["role"] == "assistant" for c in chunks)
    assert "Rome" in "".join(c["message"]["content"] for c in chunks)
    assert final["done"] is True and final["message"]["content"] == ""
    whole = httpx.post(dev.url + "/api/chat", json={**body, "stream": False}).json()
    assert "Rome" in whole["message"]["content"]


def test_reasoning_comes_in_thinking_when_asked_and_inline_otherwise(dev: RunningServer) -> None:
    asked = lines(dev, "/api/generate",
                  {"model": "deepseek-r1:32b", "prompt": "Capital of Italy", "think": True})
    thinking = "".join(c.get("thinking", "") for c in asked)
    assert "capital of Italy" in thinking
    assert "<think>" not in "".join(c["response"] for c in asked)
    inline = lines(dev, "/api/generate", {"model": "deepseek-r1:32b", "prompt": "Capital of Italy"})
    assert "".join(c["response"] for c in inline).startswith("<think>")
    plain = lines(dev, "/api/generate",
                  {"model": "deepseek-r1:32b", "prompt": "Capital of Italy", "think": False})
    assert "think" not in "".join(c["response"] for c in plain)
    refused = httpx.post(dev.url + "/api/generate",
                         json={"model": "llama3.1:8b", "prompt": "x", "think": True})
    assert refused.status_code == 400 and "does not support thinking" in refused.json()["error"]


def test_num_predict_cuts_the_reply_with_done_reason_length(dev: RunningServer) -> None:
    *chunks, final = lines(dev, "/api/generate", {"model": "llama3.1:8b", "prompt": "Capital "
                                                 "of Italy", "options": {"num_predict": 3}})
    assert len(chunks) == 3 and final["done_reason"] == "length"


def test_an_empty_prompt_loads_the_model_and_says_nothing(dev: RunningServer) -> None:
    assert lines(dev, "/api/generate", {"model": "llama3.1:8b"})[-1]["done_reason"] == "load"


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"prompt": "x"}, 400, "model is required"),
    ({"model": "llama3.1:8b", "prompt": 3}, 400, "prompt must be a string"),
])
def test_bad_requests_get_ollamas_errors(dev: RunningServer, body: dict[str, Any], status: int,
                                         message: str) -> None:
    response = httpx.post(dev.url + "/api/generate", json=body)
    assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.mark.parametrize("body", [b"{nope", b"[" * 100_000 + b"]" * 100_000])
def test_malformed_json_is_a_400(dev: RunningServer, body: bytes) -> None:
    response = httpx.post(dev.url + "/api/chat", content=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith("The request content was malformed")


def test_a_scripted_failure_sends_an_error_line_mid_stream(dev: RunningServer) -> None:
    streamed = lines(dev, "/api/generate", {"model": "llama3.1:8b", "prompt": "fail midway"})
    assert [c["response"] for c in streamed[:-1]] == ["This", " reply", " will", " break"]
    assert "failed mid-stream" in streamed[-1]["error"]
    whole = httpx.post(dev.url + "/api/generate",
                       json={"model": "llama3.1:8b", "prompt": "fail midway", "stream": False})
    assert whole.status_code == 500 and "failed mid-stream" in whole.json()["error"]


def test_the_official_ollama_client_works_unchanged(dev: RunningServer) -> None:
    client = ollama.Client(host=dev.url)
    assert "llama3.1:8b" in [m.model for m in client.list().models]
    text = "".join(part.response for part in client.generate(
        model="llama3.1:8b", prompt="Capital of Italy", stream=True))
    assert "Rome" in text
    answer = client.chat(model="deepseek-r1:32b", think=True,
                         messages=[{"role": "user", "content": "Capital of Italy"}])
    assert "Rome" in answer.message.content and "Italy" in (answer.message.thinking or "")
    with pytest.raises(ollama.ResponseError, match="failed mid-stream"):
        for _ in client.generate(model="llama3.1:8b", prompt="fail midway", stream=True):
            pass
    embedded = client.embed(model="nomic-embed-text", input=["Rome", "Paris"])
    assert [len(vector) for vector in embedded.embeddings] == [768, 768]


def test_a_client_that_hangs_up_is_recorded_as_client_gone(slow: RunningServer) -> None:
    body = {"model": "llama3.1:8b", "prompt": "tell me a long story"}
    with httpx.Client(timeout=30) as client, client.stream(
        "POST", slow.url + "/api/generate", json=body
    ) as response:
        for count, _ in enumerate(response.iter_lines()):
            if count == 3:
                break

    def last() -> dict[str, Any]:
        return httpx.get(slow.url + "/dev/generations").json()["generations"][-1]

    assert wait_until(lambda: last()["outcome"] != "running", timeout=10)
    record = last()
    assert record["outcome"] == "client-gone" and record["prompt"] == body["prompt"]
    assert record["tokens_sent"] < 1000  # it stopped, far short of the story's 17,000 tokens


def test_basic_auth_is_required_when_auth_is_set(tmp_path: Path) -> None:
    with serve_dev_ollama("--auth", "dev:s3cret-token", log_path=tmp_path / "log") as guarded:
        assert httpx.get(guarded.url).status_code == 401
        assert httpx.get(guarded.url, auth=("dev", "wrong")).status_code == 401
        assert httpx.get(guarded.url, auth=("dev", "s3cret-token")).text == "Ollama is running"
        assert ollama.Client(host=guarded.url, auth=("dev", "s3cret-token")).list().models
        assert "s3cret-token" not in guarded.log()


def test_a_custom_script_teaches_new_replies(tmp_path: Path) -> None:
    script = tmp_path / "replies.toml"
    script.write_text('models = ["tiny:1b"]\n[[reply]]\npattern = "ping"\nanswer = "pong"\n')
    with serve_dev_ollama("--script", str(script), "--token-rate", "0",
                          log_path=tmp_path / "log") as custom:
        reply = httpx.post(custom.url + "/api/generate",
                           json={"model": "tiny:1b", "prompt": "ping", "stream": False})
        assert reply.json()["response"] == "pong"


def test_a_broken_script_is_a_one_line_error(tmp_path: Path) -> None:
    script = tmp_path / "broken.toml"
    script.write_text("models = [\n")
    result = subprocess.run([sys.executable, "-m", "streamwhisk", "ollama", "serve", "--port",
                             "0", "--script", str(script)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1
    assert f"cannot use the dev model script {script}" in result.stderr


def test_a_prompt_over_the_limit_is_a_413_in_ollamas_shape(tmp_path: Path) -> None:
    with serve_dev_ollama("--max-prompt-bytes", "1000", "--auth", "",
                          log_path=tmp_path / "log") as small:
        answer = httpx.post(small.url + "/api/generate", timeout=30,
                            json={"model": "llama3.1:8b", "prompt": "x" * 1001})
        assert answer.status_code == 413
        assert answer.json() == {"error": "prompt too long: 1001 bytes, over the dev server's "
                                          "1000-byte limit"}
        huge = httpx.post(small.url + "/api/chat", timeout=30, content=b"{" + b" " * 200_000)
        assert huge.status_code == 413
        assert huge.json()["error"].endswith(
            "over the 67536-byte limit: the dev server takes prompts of up to 1000 bytes")


def test_records_keep_a_summary_of_each_prompt(slow: RunningServer) -> None:
    prompt = "summarise this: " + "word " * 2000
    lines(slow, "/api/generate", {"model": "llama3.1:8b", "prompt": prompt, "options": {
        "num_predict": 1}})
    record = httpx.get(slow.url + "/dev/generations").json()["generations"][-1]
    assert record["prompt"] == prompt[:200] + "…"
    assert record["prompt_chars"] == len(prompt)
    assert record["prompt_sha256"] == hashlib.sha256(prompt.encode()).hexdigest()


def test_a_whole_answer_stops_generating_when_its_client_leaves(slow: RunningServer) -> None:
    body = {"model": "llama3.1:8b", "prompt": "tell me a long story", "stream": False}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(slow.url + "/api/generate", json=body, timeout=0.5)

    def last() -> dict[str, Any]:
        return httpx.get(slow.url + "/dev/generations").json()["generations"][-1]

    assert wait_until(lambda: last()["outcome"] != "running", timeout=10)
    assert last()["outcome"] == "client-gone"
    assert last()["tokens_sent"] < 200  # far short of the story's 17,000 tokens
