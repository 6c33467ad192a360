"""In-process stand-ins and server helpers, for tests and benchmarks (never used by the app).

- `ScriptedLLM`: an `LLM` whose replies are a list or a function of the messages (like
  pydantic-ai's FunctionModel); streams each reply in token-sized pieces, and can fail mid-way.
- `HashingEmbedder`: a deterministic bag-of-words `Embedder`: no model, same vector every run.
- `CachingEmbedder`: another embedder's vectors, each text embedded once per process.
Real servers on 127.0.0.1 are in qa/testing/servers.py, the OpenAI-compatible fake LLM server
in qa/testing/llm_server.py.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.embed import Embedder
from qa.llm.base import LLM, Completion, Message

# A word with the space before it, or one punctuation mark: "[1]." streams as "[", "1", "]", "."
_PIECE = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")
_WORD = re.compile(r"\w+")


@dataclass
class Reply:
    """One scripted reply: `text`, then (when given) `error` raised after streaming it."""

    text: str = ""
    error: Exception | None = None
    model: str | None = None
    usage: dict[str, int] | None = None


Script = Reply | str | Exception
ReplyFunction = Callable[[list[Message]], Script]


def pieces(text: str) -> list[str]:
    """How a reply is streamed: small pieces that split markers, as model tokens do."""
    return _PIECE.findall(text)


@dataclass
class ScriptedLLM(LLM):
    """Replies from a list (one per call, in order) or from a function of the messages.

    A reply is a string, an exception to raise (an `LLMError` reaches the caller as it is), or
    a `Reply` for a text that fails after streaming, another model name or usage figures.
    Every call's messages are kept in `calls`."""

    replies: Sequence[Script] | ReplyFunction = ()
    model: str = "scripted-model"
    calls: list[list[Message]] = field(default_factory=list)

    def _next(self, messages: list[Message]) -> Reply:
        self.calls.append(messages)
        if callable(self.replies):
            script = self.replies(messages)
        else:
            if len(self.calls) > len(self.replies):
                raise AssertionError(f"ScriptedLLM has no reply left for call {len(self.calls)}")
            script = self.replies[len(self.calls) - 1]
        if isinstance(script, str):
            return Reply(script)
        if isinstance(script, Exception):
            return Reply(error=script)
        return script

    def _usage(self, reply: Reply, messages: list[Message]) -> dict[str, int]:
        if reply.usage is not None:
            return reply.usage
        prompt = sum(len(_WORD.findall(m["content"])) for m in messages)
        return {"prompt_tokens": prompt, "completion_tokens": len(pieces(reply.text))}

    async def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        """The reply in token-sized pieces; the model and usage come with the last one."""
        reply = self._next(messages)
        model = reply.model or self.model
        for piece in pieces(reply.text):
            yield Completion(piece, model)
        if reply.error is not None:
            raise reply.error
        yield Completion("", model, self._usage(reply, messages))


class HashingEmbedder(Embedder):
    """Each word hashed (blake2b, so the same in every process) to a signed slot, L2-normalised.
    Texts sharing words are similar; no model to load. Good for pipeline tests, not ranking."""

    def __init__(self, dimension: int = 384):
        self.dimension = dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = 1e-3  # an empty text still gets a unit vector (cosine needs one)
            for word in _WORD.findall(text.lower()):
                digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
                sign = 1.0 if digest & 1 else -1.0
                out[row, (digest >> 1) % self.dimension] += sign
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class CachingEmbedder(Embedder):
    """The vectors of `inner`, each text embedded once: tests that ingest the same articles
    again and again pay for the model once. Thread-safe enough: a race embeds a text twice."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.dimension = inner.dimension
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])
