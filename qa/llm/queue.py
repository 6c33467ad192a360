"""A bounded queue in front of one LLM: at most `concurrency` calls run, at most `max_waiting`
wait; past that a call fails at once with 503 + Retry-After instead of piling up.

A llama.cpp server runs one request at a time; without this every extra user waited there
unseen (or, with `interrupt_requests`, wiped the running answer)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, cast

from qa.llm.base import LLM, Completion, LLMError, Message

if TYPE_CHECKING:
    from qa.metrics import Metrics

EWMA_WEIGHT = 0.2  # how fast the Retry-After estimate follows the latest call durations


class LLMBusy(LLMError):
    """Too many questions are already waiting for the LLM (HTTP 503 with Retry-After)."""

    status = 503
    kind = "llm_busy"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class BoundedLLM(LLM):
    def __init__(
        self,
        inner: LLM,
        concurrency: int = 1,
        max_waiting: int = 8,
        metrics: Metrics | None = None,
    ):
        self.inner = inner
        self.model = inner.model
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.metrics = metrics
        self.running = 0
        self.waiting = 0
        self.typical_s = 5.0  # until measured
        self._slots: asyncio.Semaphore | None = None  # made on first use, in the serving loop

    def retry_after(self) -> int:
        """Seconds until the queue has probably moved on by one more caller."""
        rounds = (self.waiting + self.running) / self.concurrency
        return max(1, math.ceil(self.typical_s * rounds))

    def full(self) -> bool:
        return self.running >= self.concurrency and self.waiting >= self.max_waiting

    def refusal(self) -> LLMBusy:
        """The error for a caller turned away (counted)."""
        if self.metrics:
            self.metrics.llm_rejected.inc()
        return LLMBusy(
            f"the LLM is busy: {self.running} question(s) running and {self.waiting} waiting;"
            " try again shortly",
            self.retry_after(),
        )

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        if self.full():
            raise self.refusal()
        self.waiting += 1
        self._report()
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self._report()
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.running -= 1
            self._slots.release()
            self._report()
            self.typical_s += EWMA_WEIGHT * (elapsed - self.typical_s)
            if self.metrics:
                self.metrics.llm_seconds.observe(elapsed)

    def _report(self) -> None:
        if self.metrics:
            self.metrics.llm_waiting.set(self.waiting)
            self.metrics.llm_running.set(self.running)

    async def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        """The inner LLM's stream, once a slot is free (`complete` consumes it, so both queue)."""
        pieces = cast(AsyncGenerator[Completion, None], self.inner.stream(messages, max_tokens))
        usage: dict[str, int] = {}
        texts = 0
        # aclosing: a client that leaves mid-stream ends the LLM request and frees the slot now
        async with self._slot(), aclosing(pieces):
            async for piece in pieces:
                usage = piece.usage or usage
                texts += bool(piece.text)
                yield piece
        if self.metrics:
            # a server that reports no usage: llama.cpp sends about one token per piece
            for kind in ("prompt", "completion"):
                count = usage.get(f"{kind}_tokens", texts if kind == "completion" else 0)
                self.metrics.llm_tokens.labels(kind).inc(count)

    async def choose(self, messages: list[Message], options: Sequence[str]) -> dict[str, float]:
        async with self._slot():
            return await self.inner.choose(messages, options)

    async def ping(self) -> None:
        await self.inner.ping()

    async def aclose(self) -> None:
        await self.inner.aclose()
