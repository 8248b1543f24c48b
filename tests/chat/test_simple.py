"""The lesson's non-streaming chat against the session's dev Ollama."""

import socket
import sys

sys.path.append("packages/chat")
import simple


def test_the_whole_answer_comes_back_in_one_body():
    assert "Rome" in simple.main({"input": "Capital of Italy"})["body"]["output"]


def test_no_input_gets_the_welcome():
    assert "Welcome" in simple.main({})["body"]["output"]


def test_an_ollama_error_mid_reply_is_told_after_what_came():
    out = simple.main({"input": "please fail midway"})["body"]["output"]
    assert out.startswith("This reply will break")
    assert "(Ollama: the dev model failed mid-stream" in out


def test_ollama_down_is_a_clear_answer_without_the_credentials():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed = probe.getsockname()[1]
    out = simple.main({"input": "hi", "OLLAMA_HOST": f"127.0.0.1:{closed}",
                       "AUTH": "user:pa55word-secret"})["body"]["output"]
    assert out == "Cannot reach Ollama (ConnectionError): is it running?"
