"""The lesson's stateless chat, offline against the dev Ollama that tests/conftest.py starts."""

import json
import socket
import sys
import time
import uuid

import httpx
import pytest
import requests as req

sys.path.append("tests")
sys.path.append("packages/chat/stateless")
import stateless
import streamock


def test_url():
    url = stateless.url({})
    assert url.endswith("/api/generate")
    assert req.get(url[: -len("/api/generate")]).text == "Ollama is running"


def test_stream():
    args = streamock.args()
    mock = streamock.start(args)
    msg = {"model": stateless.MODEL, "prompt": "Capital of Italy", "stream": True}
    lines = req.post(stateless.url(args), json=msg, stream=True).iter_lines()
    out = stateless.stream(args, lines)
    data = streamock.stop(mock)
    assert "Rome" in out
    assert '"response"' not in out and '"response"' not in data.output
    assert data.output == out


@pytest.mark.parametrize("form", ["{hostport}", "http://{hostport}", "localhost:{port}",
                                  "http://localhost:{port}/"])
def test_every_ollama_host_form_a_user_types_reaches_ollama(form, dev_ollama_url):
    hostport = dev_ollama_url.removeprefix("http://")
    host = form.format(hostport=hostport, port=hostport.rsplit(":", 1)[1])
    base = stateless.url({"OLLAMA_HOST": host, "AUTH": ""})[: -len("/api/generate")]
    assert req.get(base).text == "Ollama is running"


def test_a_bare_remote_host_means_https_with_auth_in_the_url():
    assert stateless.url({"OLLAMA_HOST": "ollama.example.org", "AUTH": "u:s"}) == (
        "https://u:s@ollama.example.org/api/generate")


def test_typing_a_model_name_switches_the_model_in_the_state():
    switched = stateless.stateless({"input": "deepseek"})["body"]
    assert switched["state"] == {"model": "deepseek-r1:32b"}
    answer = stateless.stateless({"input": "Capital of Italy", "state": switched["state"]})
    assert answer["body"]["output"].startswith("[think]")
    back = stateless.stateless({"input": "llama", "state": switched["state"]})["body"]
    assert back["state"] == {"model": "llama3.1:8b"}
    assert "[think]" not in stateless.stateless({"input": "Capital of Italy"})["body"]["output"]


def ollama_lines(*chunks):
    return [json.dumps(chunk).encode() for chunk in chunks]


@pytest.mark.parametrize("pieces", [
    ["<think>", "hm", "</think>", "ok"],
    ["<thi", "nk>h", "m</", "think>o", "k"],
    ["<", "think", ">", "hm<", "/", "think", ">ok"],
])
def test_think_tags_become_brackets_even_split_across_chunks(pieces):
    args = streamock.args()
    mock = streamock.start(args)
    chunks = [{"response": p, "done": False} for p in pieces] + [{"response": "", "done": True}]
    out = stateless.stream(args, ollama_lines(*chunks))
    assert out == "[think]hm[/think]ok"
    assert streamock.stop(mock).output == out


def test_a_lone_angle_bracket_is_not_held_back_for_ever():
    args = streamock.args()
    mock = streamock.start(args)
    out = stateless.stream(args, ollama_lines({"response": "a <"}, {"response": " b"},
                                              {"response": " <", "done": True}))
    assert out == "a < b <" == streamock.stop(mock).output


def test_ollamas_thinking_field_is_relayed_as_thinking_messages():
    args = streamock.args()
    mock = streamock.start(args)
    out = stateless.stream(args, ollama_lines({"response": "", "thinking": "let me see"},
                                              {"response": "Rome", "done": True}))
    assert out == "Rome"
    assert streamock.stop(mock).messages == [{"thinking": "let me see"}, {"output": "Rome"}]


def test_an_ollama_error_mid_stream_is_shown_and_the_partial_reply_kept():
    args = streamock.args(input="please fail midway")
    mock = streamock.start(args)
    body = stateless.stateless(args)["body"]
    data = streamock.stop(mock)
    assert body["output"] == "This reply will break" == data.output
    assert "Ollama: the dev model failed mid-stream" in body["error"]
    assert data.messages[-1] == {"error": body["error"]}


def test_ollama_down_is_a_clear_error_without_the_credentials():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed = probe.getsockname()[1]
    body = stateless.stateless({"input": "hi", "OLLAMA_HOST": f"127.0.0.1:{closed}",
                                "AUTH": "user:pa55word-secret"})["body"]
    assert body["error"].startswith("Cannot reach Ollama (ConnectionError): is it running?")
    assert "pa55word-secret" not in json.dumps(body)


def test_no_ollama_host_at_all_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST")
    assert "OLLAMA_HOST is not set" in stateless.stateless({"input": "hi"})["body"]["error"]


def events(server, payload):
    with httpx.Client(timeout=60) as client:
        response = client.post(f"{server.url}/web/_/chat/stateless", json=payload)
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_through_the_streamer_the_state_round_trips_per_chat(streamwhisk_server):
    switched = events(streamwhisk_server, {"input": "deepseek"})[-1]["result"]["body"]
    state = switched["state"]
    reply = events(streamwhisk_server, {"input": "Capital of Italy", "state": state})
    done = reply[-1]["result"]["body"]
    assert done["state"] == state and done["output"].startswith("[think]")
    assert "".join(e.get("output", "") for e in reply[:-1]) == done["output"]
    other_tab = events(streamwhisk_server, {"input": "Capital of Italy"})[-1]["result"]["body"]
    assert "[think]" not in other_tab["output"] and other_tab["state"] == {}


def test_a_stop_from_the_client_closes_the_ollama_request(streamwhisk_server, dev_ollama_url):
    prompt = f"tell me a long story {uuid.uuid4()}"
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{streamwhisk_server.url}/web/_/chat/stateless", json={"input": prompt}
    ) as response:
        for count, _ in enumerate(response.iter_lines()):
            if count == 5:
                break  # the user pressed stop

    def record():
        generations = httpx.get(dev_ollama_url + "/dev/generations").json()["generations"]
        return next(g for g in reversed(generations) if g["prompt"] == prompt)

    deadline = time.monotonic() + 15
    while record()["outcome"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert record()["outcome"] == "client-gone"
    assert record()["tokens_sent"] < 10_000  # the story has 17,000: generation stopped
