"""Question → (condense) → retrieve → prompt → LLM → checked answer; whole or as a stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool

from qa.answer import MARKER, check_answer, make_citation, marker_numbers
from qa.llm import LLM, LLMError
from qa.prompt import Prompts
from qa.retrieve import Retriever
from qa.schemas import Answer, Filters, Passage, Turn

log = structlog.get_logger(__name__)


class AnswerFailed(Exception):
    """The LLM failed after retrieval; carries the passages so callers can still show them."""

    def __init__(self, error: LLMError, passages: list[Passage]):
        super().__init__(str(error))
        self.error = error
        self.passages = passages


class QAService:
    def __init__(self, retriever: Retriever, llm: LLM, prompts: Prompts, max_tokens: int = 256):
        self.retriever = retriever
        self.llm = llm
        self.prompts = prompts
        self.max_tokens = max_tokens

    async def condense(self, question: str, history: list[Turn]) -> str:
        """A follow-up ("and how many troops?") becomes a standalone question for retrieval."""
        if not any(t.role == "user" for t in history):
            return question
        reply = await self.llm.complete(self.prompts.condense_messages(question, history), 96)
        standalone = reply.text.strip().strip('"').splitlines()[0].strip() if reply.text else ""
        return standalone or question

    async def search(self, query: str, top_k: int, filters: Filters | None) -> list[Passage]:
        return await run_in_threadpool(self.retriever.search, query, top_k, filters)

    async def _prepare(
        self,
        question: str,
        top_k: int,
        filters: Filters | None,
        history: Sequence[Turn],
        timings: dict[str, float],
    ) -> tuple[str, list[Passage]]:
        clock = time.perf_counter()
        standalone = await self.condense(question, list(history))
        timings["condense"] = _ms(clock)
        clock = time.perf_counter()
        passages = await self.search(standalone, top_k, filters)
        timings["retrieve"] = _ms(clock)
        return standalone, passages

    async def ask(
        self,
        question: str,
        top_k: int,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        timings: dict[str, float] = {}
        passages: list[Passage] = []
        try:
            standalone, passages = await self._prepare(question, top_k, filters, history, timings)
            if not passages:
                return self._no_sources(question, standalone, timings)
            clock = time.perf_counter()
            reply = await self.llm.complete(
                self.prompts.answer_messages(standalone, passages, _as_of(filters)),
                self.max_tokens,
            )
            timings["generate"] = _ms(clock)
        except LLMError as exc:
            raise AnswerFailed(exc, passages) from exc
        return self._finish(
            question, standalone, reply.text, passages, reply.model, reply.usage, timings
        )

    async def ask_stream(
        self,
        question: str,
        top_k: int,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yield (event, data): sources, delta*, citation*, then done — or error."""
        timings: dict[str, float] = {}
        passages: list[Passage] = []
        try:
            standalone, passages = await self._prepare(question, top_k, filters, history, timings)
            yield (
                "sources",
                {
                    "question": question,
                    "condensed_question": standalone,
                    "passages": [p.model_dump() for p in passages],
                },
            )
            if not passages:
                yield "done", self._no_sources(question, standalone, timings).model_dump()
                return
            clock = time.perf_counter()
            text = ""
            emitted: set[int] = set()
            by_n = {p.n: p for p in passages}
            async for piece in self.llm.stream(
                self.prompts.answer_messages(standalone, passages, _as_of(filters)),
                self.max_tokens,
            ):
                text += piece
                yield "delta", {"text": piece}
                for n, claim in _completed_markers(text):
                    if n in by_n and n not in emitted:
                        emitted.add(n)
                        yield "citation", make_citation(n, claim, by_n[n]).model_dump()
            timings["generate"] = _ms(clock)
            answer = self._finish(question, standalone, text, passages, self.llm.model, {}, timings)
            yield "done", answer.model_dump()
        except LLMError as exc:
            yield (
                "error",
                {
                    "error": {"type": exc.kind, "message": str(exc)},
                    "status": exc.status,
                    "passages": [p.model_dump() for p in passages],
                },
            )

    def _finish(
        self,
        question: str,
        standalone: str,
        text: str,
        passages: list[Passage],
        model: str,
        usage: dict[str, int],
        timings: dict[str, float],
    ) -> Answer:
        checked = check_answer(text, passages)
        log.info(
            "answered",
            grounded=checked.grounded,
            citations=len(checked.citations),
            unsupported=sum(not s.supported for s in checked.sentences),
            **{f"{k}_ms": v for k, v in timings.items()},
        )
        return Answer(
            question=question,
            condensed_question=standalone,
            answer=checked.answer,
            citations=checked.citations,
            sentences=checked.sentences,
            grounded=checked.grounded,
            passages=passages,
            model=model,
            usage=usage,
            timings_ms=timings,
        )

    def _no_sources(self, question: str, standalone: str, timings: dict[str, float]) -> Answer:
        return Answer(
            question=question,
            condensed_question=standalone,
            answer="No indexed article matches this question (is anything ingested?).",
            citations=[],
            sentences=[],
            grounded=False,
            passages=[],
            model=self.llm.model,
            timings_ms=timings,
        )


def _completed_markers(text: str) -> list[tuple[int, str]]:
    """(n, the sentence it closes) for every complete marker in the streamed text so far."""
    found: list[tuple[int, str]] = []
    for match in MARKER.finditer(text):
        sentence_start = max(text.rfind(". ", 0, match.start()), text.rfind("\n", 0, match.start()))
        claim = MARKER.sub("", text[sentence_start + 1 : match.start()])
        found.extend((n, claim) for n in marker_numbers(match.group(1)))
    return found


def _as_of(filters: Filters | None) -> date | None:
    return filters.as_of if filters else None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
