"""A small OpenAI-compatible chat server for tests, so the real `openai` SDK path is exercised:
it speaks the protocol for a `FakeLLM`, the scriptable fake of qa/testing/fakes.py with a
server's failure knobs.

By default it answers extractively: the passage sentence that shares most words with the
question, followed by that passage's marker. Tests can script the reply or a failure mode.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from qa.llm.base import Message
from qa.testing.fakes import ScriptedLLM

WORD = re.compile(r"[a-z0-9]+")
PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def extractive_reply(prompt: str, quote: str | None = None) -> str:
    """The passage sentence sharing most words with the question (or containing `quote`)."""
    question = prompt.rsplit("Question:", 1)[-1]
    wanted = set(WORD.findall(question.lower())) - {
        "the",
        "a",
        "of",
        "to",
        "what",
        "were",
        "was",
        "is",
    }
    best, best_score = "I could not find that.", 0
    for passage in PASSAGE.finditer(prompt):
        n, body = passage.groups()
        for sentence in re.split(r"(?<=[.!?])\s+|\n", body):
            score = len(wanted & set(WORD.findall(sentence.lower())))
            if quote is not None:
                score = int(quote in sentence)
            if score > best_score:
                best, best_score = f"{sentence.rstrip('.')} [{n}].", score
    return best


@dataclass
class FakeLLM(ScriptedLLM):
    """The scriptable fake (a ScriptedLLM: its replies are a function of the messages) with the
    knobs of a server: what it answers, how it fails, and what it saw. Shared between the test
    and the server thread that speaks the OpenAI protocol for it (`create_fake_llm_app`)."""

    model: str = "fake-model"
    reply: str | None = None  # None: extractive answer
    quote: str | None = None  # extractive answer: the sentence containing this
    mode: str = "ok"  # ok | error | slow | fail_midstream
    delay_s: float = 0.0
    judge_yes: float = 0.9  # P("yes") it gives a yes/no question asked with logprobs
    judge_logprobs: bool = True  # False: a server that answers the word without logprobs
    choice: dict[str, float] = field(default_factory=lambda: {"A": 1.0})  # option letter odds
    requests: list[dict[str, Any]] = field(default_factory=list)  # the request bodies as sent
    cancelled: int = 0
    in_flight: int = 0  # non-streamed requests being answered now
    most_in_flight: int = 0

    def __post_init__(self) -> None:
        self.replies = self.answer_for

    def reset(self) -> None:
        self.reply, self.quote, self.mode, self.delay_s = None, None, "ok", 0.0
        self.judge_yes, self.judge_logprobs, self.choice = 0.9, True, {"A": 1.0}
        self.requests.clear()
        self.calls.clear()
        self.cancelled = self.in_flight = self.most_in_flight = 0

    def answer_for(self, messages: list[Message]) -> str:
        if self.reply is not None:
            return self.reply
        prompt = messages[-1]["content"]
        if "Standalone question:" in prompt:
            return prompt.rsplit("Last question:", 1)[-1].split("\n")[0].strip()
        return extractive_reply(prompt, self.quote)

    async def choose(self, messages: list[Message], options: Sequence[str]) -> dict[str, float]:
        """The odds it gives: `choice` for an option letter, else `judge_yes` for yes/no."""
        self.calls.append(messages)
        if "Options:" in messages[-1]["content"]:
            return dict(self.choice)
        return {"yes": self.judge_yes, "no": 1 - self.judge_yes}


def create_fake_llm_app(state: FakeLLM) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": "fake-model", "object": "model", "owned_by": "tests"}],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        state.requests.append(body)
        if state.mode == "error":
            return JSONResponse({"error": {"message": "model exploded"}}, status_code=500)
        if state.mode == "slow":
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
            try:
                await asyncio.sleep(state.delay_s or 30)
            finally:
                state.in_flight -= 1
        created = int(time.time())
        messages = [{"role": m["role"], "content": m["content"]} for m in body["messages"]]
        if body.get("logprobs"):  # the judge's yes/no question, or its choice of an option
            return judge_reply(state, created, await state.choose(messages, ()))
        text = (await state.complete(messages, body.get("max_tokens") or 256)).text
        if not body.get("stream"):
            usage = {
                "prompt_tokens": len(str(body["messages"])) // 4,
                "completion_tokens": len(text) // 4,
                "total_tokens": 0,
            }
            return completion(text, created, usage)

        async def chunks() -> AsyncIterator[bytes]:
            pieces = re.findall(r"\S+\s*", text)
            try:
                for i, piece in enumerate(pieces):
                    if state.mode == "fail_midstream" and i == len(pieces) // 2:
                        raise RuntimeError("connection dropped mid-stream")
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": "fake-model",
                        "choices": [
                            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                        ],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
                    await asyncio.sleep(
                        state.delay_s / max(len(pieces), 1) if state.mode == "ok" else 0.01
                    )
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = {
                        "prompt_tokens": len(str(body["messages"])) // 4,
                        "completion_tokens": len(text) // 4,
                        "total_tokens": 0,
                    }
                    final = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": "fake-model",
                        "choices": [],
                        "usage": usage,
                    }
                    yield f"data: {json.dumps(final)}\n\n".encode()
                yield b"data: [DONE]\n\n"
            except asyncio.CancelledError:
                state.cancelled += 1
                raise

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app


def completion(
    text: str, created: int, usage: dict[str, int], logprobs: Any = None, finish: str = "stop"
) -> dict[str, Any]:
    """A whole (not streamed) chat completion."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "logprobs": logprobs,
        "finish_reason": finish,
    }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": created,
        "model": "fake-model",
        "choices": [choice],
        "usage": usage,
    }


def judge_reply(state: FakeLLM, created: int, odds: dict[str, float]) -> dict[str, Any]:
    """The first token of a yes/no answer or an option letter, the likeliest of `odds`, with
    its top probabilities (unless told not to)."""
    word = max(odds, key=lambda w: odds[w])
    top = [{"token": w, "logprob": math.log(max(p, 1e-9)), "bytes": None} for w, p in odds.items()]
    top.append({"token": "The", "logprob": math.log(1e-3), "bytes": None})
    first = {"token": word, "logprob": math.log(max(odds[word], 1e-9)), "bytes": None}
    logprobs = {"content": [{**first, "top_logprobs": top}]} if state.judge_logprobs else None
    usage = {"prompt_tokens": 60, "completion_tokens": 1, "total_tokens": 61}
    return completion(word, created, usage, logprobs, "length")
