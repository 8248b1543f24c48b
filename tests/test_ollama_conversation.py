"""The dev Ollama keeps up with the lessons: it answers from the whole conversation, says what
images it was sent, and has the course's own test prompts; through Ollama's API, the official
`ollama` client and the OpenAI client, over real HTTP."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest

from streamwhisk.testing import RunningServer, serve_dev_ollama

PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
         "rkJggg==")
SIZE = len(base64.b64decode(PIXEL))
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 96).decode()


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("ollama") / "log"
    with serve_dev_ollama("--token-rate", "0", "--auth", "", log_path=log) as running:
        yield running


def chat(dev: RunningServer, *said: str, **extra: object) -> str:
    """The reply to the last of `said`, with the others as earlier user turns."""
    messages: list[dict[str, object]] = []
    for text in said[:-1]:
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]
    messages.append({"role": "user", "content": said[-1], **extra})
    answer = ollama.Client(host=dev.url).chat(model="llama3.1:8b", messages=messages)
    return str(answer.message.content)


def test_it_remembers_a_name_and_a_number_from_earlier_turns(dev: RunningServer) -> None:
    assert "Your name is Ann" in chat(dev, "Hello, my name is Ann.", "What is my name?")
    assert "not told me your name" in chat(dev, "What is my name?")
    remembered = chat(dev, "My favourite number is 42", "how are you", "What was my number?")
    assert "The number you told me is 42" in remembered
    assert "Your name is Bob" in chat(dev, "my name is Ann", "no, my name is Bob",
                                      "what's my name")  # the latest telling wins


def test_the_openai_route_sees_the_whole_conversation_and_image_parts(
        dev: RunningServer) -> None:
    client = openai.OpenAI(base_url=dev.url + "/v1", api_key="unused")
    answer = client.chat.completions.create(model="llama3.1:8b", messages=[
        {"role": "user", "content": "my name is Carla"},
        {"role": "assistant", "content": "Hi Carla"},
        {"role": "user", "content": [
            {"type": "text", "text": "who am i? and what is in this picture"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]}])
    text = answer.choices[0].message.content or ""
    assert f"1 image received: image/png, {SIZE} bytes" in text
    assert "does not look at images" in text and "Your name is Carla" in text


def test_images_in_ollama_requests_are_acknowledged_with_type_and_size(
        dev: RunningServer) -> None:
    seen = chat(dev, "what is in these images?", images=[PIXEL, JPEG])
    assert f"2 images received: image/png, {SIZE} bytes, image/jpeg, 100 bytes" in seen
    generated = httpx.post(dev.url + "/api/generate", json={
        "model": "llama3.1:8b", "prompt": "describe", "images": [PIXEL], "stream": False},
        timeout=30).json()["response"]
    assert generated.startswith(f"[1 image received: image/png, {SIZE} bytes.")
    assert httpx.post(dev.url + "/api/chat", json={"model": "llama3.1:8b", "messages": [
        {"role": "user", "content": "x", "images": [1]}]}, timeout=30).status_code == 400


def test_the_course_prompts_have_answers(dev: RunningServer) -> None:
    assert "Paris" in chat(dev, "What is the capital of France?")
    assert "Berlin" in chat(dev, "capital of Germany")
    assert chat(dev, "Count down from 3") == "3...\n2...\n1...\nGo!"
    assert "streamwhisk dev model" in chat(dev, "Who are you?")
    puzzle = chat(dev, "generate a chess puzzle in FEN format")
    fen = re.search(r"([rnbqkpRNBQKP1-8]+/){7}[rnbqkpRNBQKP1-8]+ [wb] \S+ \S+ \d+ \d+", puzzle)
    assert fen is not None  # the course's own extraction finds it
    ranks = fen.group(0).split()[0].split("/")
    assert all(sum(int(c) if c.isdigit() else 1 for c in rank) == 8 for rank in ranks)
