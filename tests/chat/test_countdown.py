"""The lesson's countdown, tested the lesson's way (streamock) and through the real relay."""

import json
import socket
import sys

import httpx

sys.path.append("tests")
sys.path.append("packages/chat")
import countdown
import streamock

LINES = ["3...\n", "2...\n", "1...\n", "Go!\n"]


def test_countdown_streams_each_line_as_the_lesson_sends_it():
    args = streamock.args()
    mock = streamock.start(args)
    out = countdown.stream(args, countdown.count_to_zero(3, delay=0))
    data = streamock.stop(mock)
    assert out == "".join(LINES)
    assert data.decode("utf-8") == "".join(json.dumps({"output": line}) for line in LINES)
    assert data.messages == [{"output": line} for line in LINES]


def test_main_returns_the_whole_output_marked_as_streaming():
    args = streamock.args(input="3", delay="0")
    mock = streamock.start(args)
    result = countdown.main(args)
    assert result == {"body": {"output": "".join(LINES), "streaming": True}}
    assert streamock.stop(mock).output == "".join(LINES)


def test_without_stream_host_the_countdown_just_returns_its_text():
    assert countdown.main({"input": 2, "delay": 0})["body"]["output"] == "2...\n1...\nGo!\n"


def test_a_reader_that_goes_away_ends_the_countdown_without_a_crash():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        args = {"STREAM_HOST": "127.0.0.1", "STREAM_PORT": str(listener.getsockname()[1])}

        def lines():
            yield "first\n"
            connection, _ = listener.accept()
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            connection.close()  # reset, as the relay does on a stop
            while True:
                yield "more\n"

        out = countdown.stream(args, lines())
    assert out.startswith("first\n")


def test_countdown_through_the_streamer(streamwhisk_server):
    url = f"{streamwhisk_server.url}/web/_/chat/countdown"
    with httpx.Client(timeout=30) as client:
        response = client.post(url, json={"input": 3, "delay": 0.05})
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert events[:-1] == [{"output": line} for line in LINES]
    assert events[-1] == {"done": True,
                          "result": {"body": {"output": "".join(LINES), "streaming": True}}}


def test_an_empty_input_answers_with_the_usage_and_streams_nothing():
    usage = "Type a number up to 100: I count down from it."
    assert countdown.main({})["body"] == {"output": usage}
