"""What a benchmark's LLM requests were and how fast they answered (benchmarks/llamaindex.py and
its LlamaIndex adapters record into one `Recorder`), and the server's own prompt-token count."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from openai import OpenAI
from openai.types.chat import ChatCompletionChunk

from qa.llm.base import Completion, Message
from qa.llm.openai_chat import OpenAIChat


@dataclass
class Call:
    messages: list[Message]
    sent: float  # perf_counter when the request went out
    first: float | None = None  # ... when its first text arrived
    last: float | None = None
    chunks: int = 0  # streamed pieces with text (llama.cpp sends one per token)
    text: str = ""


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)

    def start(self, messages: Sequence[Message]) -> Call:
        call = Call([dict(m) for m in messages], time.perf_counter())
        self.calls.append(call)
        return call

    @staticmethod
    def piece(call: Call, text: str) -> None:
        if not text:
            return
        now = time.perf_counter()
        call.first = call.first if call.first is not None else now
        call.last = now
        call.chunks += 1
        call.text += text

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls


class RecordingChat(OpenAIChat):
    """The pipeline's LLM adapter, recording each request's messages and timing."""

    def __init__(self, *args: Any, recorder: Recorder, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.recorder = recorder

    async def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        call = self.recorder.start(messages)
        async for piece in super().stream(messages, max_tokens):
            self.recorder.piece(call, piece.text)
            yield piece


def chat_stream(
    client: OpenAI, model: str, messages: list[Message], max_tokens: int, recorder: Recorder
) -> Iterator[str]:
    """One streamed chat completion at temperature 0, recorded."""
    call = recorder.start(messages)
    stream = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
    )
    for chunk in cast(Iterable[ChatCompletionChunk], stream):
        text = (chunk.choices[0].delta.content or "") if chunk.choices else ""
        recorder.piece(call, text)
        if text:
            yield text


def prompt_tokens(client: OpenAI, model: str, messages: list[Message]) -> int:
    """The server's own count of a request's prompt: the messages again, one token out."""
    reply = client.chat.completions.create(
        model=model,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=1,
        temperature=0,
    )
    return reply.usage.prompt_tokens if reply.usage else 0
