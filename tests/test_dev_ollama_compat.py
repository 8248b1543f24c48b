"""What course projects ask of the dev Ollama beyond the basics: any model name, Ollama's
OpenAI-compatible routes (with the real `openai` client, over https), and embeddings."""

from __future__ import annotations

import json
import math

import httpx
import openai
import pytest


@pytest.fixture
def host(dev_ollama_url: str) -> str:
    return dev_ollama_url.removeprefix("http://")


@pytest.mark.parametrize("model", ["phi4:14b", "mistral", "llama3.1:8b"])
def test_any_model_a_project_names_answers(dev_ollama_url: str, model: str) -> None:
    answer = httpx.post(dev_ollama_url + "/api/generate", timeout=30,
                        json={"model": model, "prompt": "Capital of Italy", "stream": False})
    assert answer.status_code == 200 and "Rome" in answer.json()["response"]
    assert answer.json()["model"] == model


def test_tags_claims_only_the_scripts_models(dev_ollama_url: str) -> None:
    names = [m["name"] for m in httpx.get(dev_ollama_url + "/api/tags").json()["models"]]
    assert names == ["llama3.1:8b", "deepseek-r1:32b", "devmodel:latest"]


def test_another_size_of_a_reasoning_model_reasons_too(dev_ollama_url: str) -> None:
    answer = httpx.post(dev_ollama_url + "/api/chat", timeout=30, json={
        "model": "deepseek-r1:7b", "think": True, "stream": False,
        "messages": [{"role": "user", "content": "Capital of Italy"}]}).json()
    assert "Italy" in answer["message"]["thinking"]


def test_the_openai_client_chats_over_https(host: str) -> None:
    client = openai.OpenAI(base_url=f"https://{host}/v1", api_key="learner:login-key")
    whole = client.chat.completions.create(
        model="llama3.1:8b", messages=[{"role": "user", "content": "Capital of Italy"}])
    assert "Rome" in (whole.choices[0].message.content or "")
    assert whole.choices[0].finish_reason == "stop"
    stream = client.chat.completions.create(
        model="llama3.1:8b", stream=True,
        messages=[{"role": "user", "content": "Capital of Italy"}])
    deltas = [chunk.choices[0].delta.content or "" for chunk in stream]
    assert len(deltas) > 2 and "Rome" in "".join(deltas)
    assert [m.id for m in client.models.list()] == ["llama3.1:8b", "deepseek-r1:32b",
                                                     "devmodel:latest"]


def test_the_openai_stream_is_server_sent_events_ending_with_done(dev_ollama_url: str) -> None:
    with httpx.stream("POST", dev_ollama_url + "/v1/chat/completions", timeout=30, json={
            "model": "llama3.1:8b", "stream": True,
            "messages": [{"role": "user", "content": "Capital of Italy"}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line]
    assert events[-1] == "[DONE]"
    finals = [json.loads(e)["choices"][0]["finish_reason"] for e in events[:-1]]
    assert finals[-1] == "stop" and set(finals[:-1]) == {None}


def test_embeddings_are_deterministic_unit_dev_vectors(dev_ollama_url: str) -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        response = httpx.post(dev_ollama_url + "/api/embed", timeout=30,
                              json={"model": "nomic-embed-text", "input": texts})
        assert response.headers["x-streamwhisk-dev-vectors"].startswith("hashed words")
        return response.json()["embeddings"]

    rome, rome_again, tokyo = embed(["Rome is in Italy", "Rome is in Italy", "Tokyo sushi"])
    assert rome == rome_again and len(rome) == 768
    assert math.isclose(sum(v * v for v in rome), 1.0)
    question = embed(["where is Rome"])[0]
    assert _cosine(question, rome) > _cosine(question, tokyo)
    legacy = httpx.post(dev_ollama_url + "/api/embeddings", timeout=30,
                        json={"model": "nomic-embed-text", "prompt": "Rome is in Italy"})
    assert legacy.json()["embedding"] == rome


def test_the_openai_client_gets_embeddings(host: str) -> None:
    client = openai.OpenAI(base_url=f"https://{host}/v1", api_key="learner:login-key")
    vectors = client.embeddings.create(model="nomic-embed-text", input=["a", "b"]).data
    assert [v.index for v in vectors] == [0, 1] and len(vectors[0].embedding) == 768


@pytest.mark.parametrize(("model", "size"), [
    ("mxbai-embed-large", 1024), ("mxbai-embed-large:latest", 1024), ("nomic-embed-text", 768),
    ("all-minilm", 384), ("all-minilm:l6-v2", 384), ("my-embedder", 512),
    ("someone-elses-embedder", 768)])
def test_an_embedding_has_its_models_size_on_every_route(dev_ollama_url: str, model: str,
                                                         size: int) -> None:
    """As the real models answer (a vector lesson's collection is made for 1024), or as the
    reply script says (`[embedding_dimensions]`: my-embedder is there)."""
    embed = httpx.post(dev_ollama_url + "/api/embed", timeout=30,
                       json={"model": model, "input": ["Rome is in Italy", "Tokyo"]}).json()
    assert [len(v) for v in embed["embeddings"]] == [size, size]
    legacy = httpx.post(dev_ollama_url + "/api/embeddings", timeout=30,
                        json={"model": model, "prompt": "Rome is in Italy"}).json()
    assert legacy["embedding"] == embed["embeddings"][0]
    openai_shape = httpx.post(dev_ollama_url + "/v1/embeddings", timeout=30,
                              json={"model": model, "input": "Rome is in Italy"}).json()
    assert len(openai_shape["data"][0]["embedding"]) == size
    assert math.isclose(sum(v * v for v in legacy["embedding"]), 1.0)


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))
