"""The bundled Ollama-compatible dev server: Ollama's HTTP API, answers from a script.

It speaks the shapes of Ollama's `/api/generate` and `/api/chat` (NDJSON streaming or one
object, `thinking`, `done_reason`, counts, durations in ns, a mid-stream `{"error"}`), so
actions and the official `ollama` client talk to it unchanged. It says it is a dev model in
`/api/tags`, `/api/show`, `/api/version`, the `Server` header and its fallback reply.
Every generation is recorded, with how it ended, at `/dev/generations`: a client that went
away is `client-gone`, which is how tests prove that a stop reached the LLM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import RequestError
from ..hosting.origins import OwnHostOnly
from ..hosting.primitives import UNEXPECTED, read_json_object
from .conversation import Turns, chat_turns, generate_turns
from .embeddings import LABEL, dev_vector, dimensions_of
from .guard import SERVER_HEADER, BasicAuth
from .script import Script, tokens
from .shapes import ChatShape, GenerateShape, Generation, OpenAIChatShape, Plan, Shape

log = logging.getLogger("streamwhisk.dev-ollama")
VERSION = "0.0.0-streamwhisk-dev"
SHAPES: dict[str, Callable[[str], Shape]] = {
    "generate": GenerateShape, "chat": ChatShape, "openai-chat": OpenAIChatShape}
MAX_RECORDS = 1000


@dataclass(frozen=True)
class DevOllamaSettings:
    script: Script
    tokens_per_second: float = 50.0  # 0: as fast as it can
    auth: str = ""  # "user:secret": required as HTTP basic auth when set
    max_prompt_bytes: int = 1024 * 1024  # a longer prompt is a 413, in Ollama's error shape
    # the Host names it answers to (host:port), as the main server does: a DNS-rebinding
    # page, whose requests carry its own name, gets nothing; empty: any
    hosts: tuple[str, ...] = ()


class DevOllama:
    def __init__(self, settings: DevOllamaSettings) -> None:
        self.settings = settings
        self.generations: list[Generation] = []

    # --- routes -------------------------------------------------------------------------
    async def root(self, request: Request) -> Response:
        return PlainTextResponse("Ollama is running", headers=SERVER_HEADER)

    async def version(self, request: Request) -> Response:
        return _json({"version": VERSION})

    async def tags(self, request: Request) -> Response:
        return _json({"models": [self._model_info(name) for name in self.settings.script.models]})

    async def show(self, request: Request) -> Response:
        body = await self._body(request)
        model = str(body.get("model") or body.get("name") or "")
        if not model:
            return _error("model is required", 400)
        capabilities = ["completion", *(["thinking"] if self.settings.script.reasons(model)
                                        else [])]
        return _json({"modelfile": f"# {model}: streamwhisk dev model, replies from a script",
                      "details": _details(), "capabilities": capabilities,
                      "model_info": {"general.architecture": "streamwhisk-dev-script"}})

    async def generate(self, request: Request) -> Response:
        return await self._serve(request, "generate", generate_turns)

    async def chat(self, request: Request) -> Response:
        return await self._serve(request, "chat", chat_turns)

    async def openai_chat(self, request: Request) -> Response:
        return await self._serve(request, "openai-chat", chat_turns)

    async def openai_models(self, request: Request) -> Response:
        return _json({"object": "list", "data": [
            {"id": name, "object": "model", "created": 1767225600, "owned_by": "streamwhisk-dev"}
            for name in self.settings.script.models]})

    async def embed(self, request: Request) -> Response:
        """`/api/embed` and `/v1/embeddings`: `input` is a text or a list of texts."""
        body = await self._body(request)
        texts = body.get("input", "")
        texts = [texts] if isinstance(texts, str) else texts
        if not body.get("model") or not isinstance(texts, list) or not all(
                isinstance(t, str) for t in texts):
            return _error("model and input (a string or a list of strings) are required", 400)
        size = dimensions_of(str(body["model"]), self.settings.script.embedding_dimensions)
        vectors = [dev_vector(t, size) for t in texts]
        if request.url.path.startswith("/v1/"):
            return _json({"object": "list", "model": body["model"], "data": [
                {"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}, headers=LABEL)
        return _json({"model": body["model"], "embeddings": vectors, "total_duration": 0,
                      "load_duration": 0, "prompt_eval_count": sum(len(tokens(t))
                                                                   for t in texts)},
                     headers=LABEL)

    async def embeddings(self, request: Request) -> Response:
        """The older `/api/embeddings`: one `prompt`, one `embedding`."""
        body = await self._body(request)
        if not body.get("model") or not isinstance(body.get("prompt", ""), str):
            return _error("model and prompt (a string) are required", 400)
        size = dimensions_of(str(body["model"]), self.settings.script.embedding_dimensions)
        return _json({"embedding": dev_vector(body.get("prompt", ""), size)}, headers=LABEL)

    async def records(self, request: Request) -> Response:
        return _json({"generations": [asdict(g) for g in self.generations]})

    async def _body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object, read no further than a prompt of the limit could need
        (RequestError otherwise: the app's handler answers it in Ollama's shape)."""
        return await read_json_object(request, 2 * self.settings.max_prompt_bytes + 64 * 1024)

    # --- generation ---------------------------------------------------------------------
    async def _serve(self, request: Request, endpoint: str,
                     turns_of: Callable[[dict[str, Any]], Turns | None]) -> Response:
        body = await self._body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error("model is required", 400)
        turns = turns_of(body)
        if turns is None:
            return _error("invalid messages: a list of {role, content} objects is required"
                          if endpoint != "generate" else "prompt must be a string", 400)
        prompt = turns.prompt
        size = len(prompt.encode())
        if size > self.settings.max_prompt_bytes:
            return _error(f"prompt too long: {size} bytes, over the dev server's "
                          f"{self.settings.max_prompt_bytes}-byte limit", 413)
        think = body.get("think")
        if think is True and not self.settings.script.reasons(model):
            return _error(f'"{model}" does not support thinking', 400)
        streams_by_default = endpoint != "openai-chat"  # OpenAI's default is one answer
        generation = Generation.of(len(self.generations) + 1, endpoint, model, prompt,
                                   bool(body.get("stream", streams_by_default)))
        self.generations = [*self.generations[-MAX_RECORDS + 1:], generation]
        plan = self._plan(model, turns, think, body.get("options"))
        shape = SHAPES[endpoint](model)
        if generation.stream:
            return StreamingResponse(self._stream(generation, plan, shape),
                                     media_type=shape.media_type, headers=SERVER_HEADER)
        return await self._whole(request, generation, plan, shape)

    def _plan(self, model: str, turns: Turns, think: Any, options: Any) -> Plan:
        prompt = turns.prompt
        plan = Plan(prompt_tokens=len(tokens(prompt)))
        if not prompt and not turns.images:
            plan.done_reason = "load"  # Ollama's answer to an empty prompt: load, say nothing
            return plan
        reply = self.settings.script.reply_for(prompt, model, turns.earlier)
        if self.settings.script.reasons(model) and reply.thinking and think is not False:
            if think is None:  # no `think` in the request: reasoning inline, as deepseek-r1
                plan.pieces += [("response", t) for t in tokens(f"<think>{reply.thinking}"
                                                                "</think>\n\n")]
            else:
                plan.pieces += [("thinking", t) for t in tokens(reply.thinking)]
        plan.pieces += [("response", t) for t in tokens(turns.acknowledgement())]
        answer = tokens(reply.answer)
        if reply.error:
            answer, plan.error = answer[:reply.error_after], reply.error
        plan.pieces += [("response", t) for t in answer]
        limit = options.get("num_predict") if isinstance(options, dict) else None
        if isinstance(limit, int) and 0 <= limit < len(plan.pieces):
            plan.pieces, plan.error, plan.done_reason = plan.pieces[:limit], "", "length"
        return plan

    async def _pieces(self, generation: Generation, plan: Plan
                      ) -> AsyncIterator[tuple[str, str]]:
        delay = 1 / self.settings.tokens_per_second if self.settings.tokens_per_second else 0
        started = time.monotonic()
        for index, piece in enumerate(plan.pieces):
            wait = started + index * delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            generation.tokens_sent += 1
            yield piece

    async def _stream(self, generation: Generation, plan: Plan,
                      shape: Shape) -> AsyncIterator[bytes]:
        started = time.monotonic_ns()
        try:
            async for kind, text in self._pieces(generation, plan):
                yield shape.frame(shape.chunk(kind, text))
            if plan.error:
                generation.outcome = "error"
                yield shape.frame(shape.error(plan.error))
                return
            generation.outcome = plan.done_reason
            yield shape.frame(shape.final(plan, generation, time.monotonic_ns() - started))
            yield shape.end()
        finally:
            if generation.outcome == "running":  # cancelled: the client hung up
                generation.outcome = "client-gone"
            _log_generation(generation)

    async def _whole(self, request: Request, generation: Generation, plan: Plan,
                     shape: Shape) -> Response:
        """One answer at the end; a client that leaves before it stops the generation."""
        started = time.monotonic_ns()
        texts: dict[str, str] = {"response": "", "thinking": ""}

        async def collect() -> None:
            async for kind, text in self._pieces(generation, plan):
                texts[kind] += text

        generating = asyncio.ensure_future(collect())
        leaving = asyncio.ensure_future(_client_leaves(request))
        await asyncio.wait({generating, leaving}, return_when=asyncio.FIRST_COMPLETED)
        leaving.cancel()
        if not generating.done():
            generating.cancel()
            generation.outcome = "client-gone"
            _log_generation(generation)
            return Response(status_code=499)
        generation.outcome = "error" if plan.error else plan.done_reason
        _log_generation(generation)
        if plan.error:
            return _error(plan.error, 500)
        whole = shape.final(plan, generation, time.monotonic_ns() - started)
        return _json(shape.whole(whole, texts["response"], texts["thinking"]))

    def _model_info(self, name: str) -> dict[str, Any]:
        return {"name": name, "model": name, "modified_at": "2026-01-01T00:00:00Z", "size": 0,
                "digest": "streamwhisk-dev-" + name.replace(":", "-"), "details": _details()}


def _details() -> dict[str, Any]:
    return {"format": "streamwhisk-script", "family": "streamwhisk-dev",
            "families": ["streamwhisk-dev"], "parameter_size": "0 (scripted, not an LLM)",
            "quantization_level": "none"}


async def _refused(request: Request, exc: Exception) -> Response:
    """A request the dev server refuses (not JSON, too large), in Ollama's `{"error"}`."""
    assert isinstance(exc, RequestError)
    if exc.status_code != 413:
        return _error(str(exc), exc.status_code)
    limit = request.app.state.dev.settings.max_prompt_bytes
    return _error(f"{str(exc).rstrip('.')}: the dev server takes prompts of up to {limit} "
                  "bytes", 413)


def _log_generation(generation: Generation) -> None:
    log.info("dev ollama: %s %s, %d tokens, %s%s", generation.endpoint, generation.model,
             generation.tokens_sent, generation.outcome,
             "" if generation.stream else " (one answer)")


async def _client_leaves(request: Request) -> None:
    """Returns when the client disconnects (its body is read by then)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _json(value: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(value, status_code=status, headers={**SERVER_HEADER, **(headers or {})})


def _error(message: str, status: int) -> JSONResponse:
    return _json({"error": message}, status)


def create_dev_ollama_app(settings: DevOllamaSettings) -> Starlette:
    dev = DevOllama(settings)
    routes = [
        Route("/", dev.root, methods=["GET", "HEAD"]),
        Route("/api/version", dev.version, methods=["GET"]),
        Route("/api/tags", dev.tags, methods=["GET"]),
        Route("/api/show", dev.show, methods=["POST"]),
        Route("/api/generate", dev.generate, methods=["POST"]),
        Route("/api/chat", dev.chat, methods=["POST"]),
        Route("/api/embed", dev.embed, methods=["POST"]),
        Route("/api/embeddings", dev.embeddings, methods=["POST"]),
        Route("/v1/chat/completions", dev.openai_chat, methods=["POST"]),
        Route("/v1/embeddings", dev.embed, methods=["POST"]),
        Route("/v1/models", dev.openai_models, methods=["GET"]),
        Route("/dev/generations", dev.records, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={**UNEXPECTED, RequestError: _refused},
                    middleware=[Middleware(OwnHostOnly, hosts=settings.hosts),
                                Middleware(BasicAuth, auth=settings.auth)])
    app.state.dev = dev
    return app
