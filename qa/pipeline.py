"""Question → (condense) → retrieve → prompt → LLM → checked answer; whole or as a stream."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import structlog
from starlette.concurrency import run_in_threadpool

from qa.checking.answer import (
    CheckedSentence,
    ParsedSentence,
    SentenceStream,
    assemble,
    check_sentence,
    citation_for,
    with_markers,
)
from qa.checking.judge import Judge
from qa.domain import Answer, Citation, Conflict, EvidenceQuote, Filters, Passage, Sentence, Turn
from qa.llm.base import LLM, LLMError
from qa.markers import MARKER
from qa.news import conflicts as conflicting
from qa.news.dated import as_of_prefix, asks_for_latest, newest, staleness
from qa.prompt import Prompts
from qa.retrieval.evidence import EvidenceRanker
from qa.retrieval.retriever import Retriever
from qa.settings import DEFAULT_SUPPORT_THRESHOLD, AnswerMode
from qa.trim import Trimmer

log = structlog.get_logger(__name__)


LLM_UNAVAILABLE = "llm_unavailable"  # an extractive answer's `fallback` when the LLM failed


class AnswerFailed(Exception):
    """The LLM failed after retrieval; carries the passages so callers can still show them,
    and (when evidence is ranked) the extractive answer served in its place."""

    def __init__(self, error: LLMError, passages: list[Passage], fallback: Answer | None = None):
        super().__init__(str(error))
        self.error = error
        self.passages = passages
        self.fallback = fallback


@dataclass
class Sources:
    question: str
    condensed_question: str
    passages: list[Passage]


@dataclass
class Evidence:
    quotes: list[EvidenceQuote]  # the passages' best sentences for the question, best first


@dataclass
class Prepared:
    """What the model is given: the standalone question, its passages, the figures they
    disagree on, and whether it asks for the newest reports."""

    question: str
    passages: list[Passage]
    conflicts: list[Conflict]
    latest: bool


@dataclass
class Delta:
    text: str  # the model's raw text, as it comes
    pending: str  # the sentence being written, without markers: a draft, not yet checked


@dataclass
class Checked:
    sentence: CheckedSentence
    citations: list[Citation]  # the quotes that carry it (none when unsupported)
    data: Sentence  # as the answer reports it: with its passages' sources and dates


@dataclass
class Done:
    answer: Answer


@dataclass
class Failed:
    error: AnswerFailed


Event = Sources | Evidence | Delta | Checked | Done | Failed


class QAService:
    def __init__(
        self,
        retriever: Retriever,
        llm: LLM,
        prompts: Prompts,
        max_tokens: int = 256,
        trimmer: Trimmer | None = None,
        judge: Judge | None = None,
        evidence: EvidenceRanker | None = None,
        mode: AnswerMode = "generative",
        conflicts: bool = True,
        recency_boost: float | None = None,
        stale_after_days: int = 30,
        support_threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    ):
        """`trimmer`: cuts the retrieved passages to the sentences the model reads (None: the
        model reads them whole). `judge`: the LLM's second reading of risky sentences.
        `evidence`: ranks the passages' sentences, sent before the answer and served as an
        extractive answer when the LLM fails (None: neither). `mode`: the default answer mode
        (extractive needs `evidence`). `conflicts`: detect figures the passages disagree on and
        tell the model. For questions that ask for the latest news, `recency_boost` is
        retrieval's recency weight (None: the usual one) and `stale_after_days` the age past
        which the answer says how old it is. `support_threshold`: the support score a sentence
        needs to be kept (QA_SUPPORT_THRESHOLD)."""
        self.support_threshold = support_threshold
        self.retriever = retriever
        self.llm = llm
        self.prompts = prompts
        self.max_tokens = max_tokens
        self.trimmer = trimmer
        self.judge = judge
        self.evidence = evidence
        self.mode = mode
        self.conflicts = conflicts
        self.recency_boost = recency_boost
        self.stale_after_days = stale_after_days

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
        condense: bool = True,
    ) -> Prepared:
        clock = time.perf_counter()
        standalone = await self.condense(question, list(history)) if condense else question
        timings["condense"] = _ms(clock)
        clock = time.perf_counter()
        latest = asks_for_latest(standalone) or asks_for_latest(question)
        boost = self.recency_boost if latest else None
        passages = await run_in_threadpool(
            self.retriever.search, standalone, top_k, filters, None, boost
        )
        if latest:  # the newest reports first, as the model reads them
            passages = _newest_first(passages)
        timings["retrieve"] = _ms(clock)
        if self.trimmer is not None and passages:
            clock = time.perf_counter()
            passages = await run_in_threadpool(self.trimmer.trim, standalone, passages)
            timings["trim"] = _ms(clock)
        found: list[Conflict] = []
        if self.conflicts and len({p.doc_id for p in passages}) > 1:
            clock = time.perf_counter()
            found = await run_in_threadpool(conflicting.detect, passages)
            timings["conflicts"] = _ms(clock)
        return Prepared(standalone, passages, found, latest)

    async def ask(
        self,
        question: str,
        top_k: int,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
        mode: AnswerMode | None = None,
    ) -> Answer:
        """The whole answer: the event stream, consumed."""
        async for event in self.events(question, top_k, filters, history, mode):
            if isinstance(event, Done):
                return event.answer
            if isinstance(event, Failed):
                raise event.error
        raise RuntimeError("the answer stream ended without an answer")  # a bug, not the LLM

    async def events(
        self,
        question: str,
        top_k: int,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
        mode: AnswerMode | None = None,
    ) -> AsyncIterator[Event]:
        """Sources, the best quotes (Evidence), then the model's text (Delta) with each
        sentence checked as soon as it is complete (Checked), then Done with the assembled
        answer - or Failed. Every surface (/ask, its SSE stream, /v1 chat completions) only
        formats these. `mode` extractive: Done right after Evidence, its answer the quotes,
        and no LLM call at all (a follow-up is not condensed)."""
        timings: dict[str, float] = {}
        passages: list[Passage] = []
        quotes: list[EvidenceQuote] = []
        extractive = (mode or self.mode) == "extractive"
        if extractive and self.evidence is None:
            raise ValueError("an extractive answer needs an evidence ranker")
        standalone = question
        try:
            prepared = await self._prepare(
                question, top_k, filters, history, timings, condense=not extractive
            )
            standalone, passages = prepared.question, prepared.passages
            yield Sources(question, standalone, passages)
            if self.evidence is not None and passages:
                clock = time.perf_counter()
                quotes = await run_in_threadpool(self.evidence.rank, standalone, passages)
                timings["evidence"] = _ms(clock)
                yield Evidence(quotes)
            if extractive:
                yield Done(self._extractive(question, standalone, passages, quotes, timings))
                return
            if not passages:
                yield Done(self._no_sources(question, standalone, timings))
                return
            clock = time.perf_counter()
            splitter = SentenceStream()
            checked: list[CheckedSentence] = []
            # sentences waiting for the judge (and those after them, to keep their order); it
            # reads them once the answer is written, as the LLM runs one request at a time
            held: list[tuple[CheckedSentence, bool]] = []  # and whether the judge reads it
            model, usage = self.llm.model, dict[str, int]()
            messages = self.prompts.answer_messages(
                standalone, passages, _as_of(filters), prepared.conflicts
            )

            def check(parsed: ParsedSentence) -> tuple[CheckedSentence, bool]:
                sentence = check_sentence(parsed, passages, standalone, self.support_threshold)
                return sentence, bool(
                    self.judge and self.judge.wants(sentence, passages, standalone)
                )

            written = ""  # the model's text, which the judge's question continues
            async for piece in self.llm.stream(messages, self.max_tokens):
                model, usage = piece.model or model, piece.usage or usage
                written += piece.text
                for parsed in splitter.feed(piece.text):
                    sentence, wanted = check(parsed)
                    if held or wanted:
                        held.append((sentence, wanted))
                        continue
                    checked.append(sentence)
                    yield _checked(sentence, passages)
                    timings.setdefault("first_sentence", _ms(clock))
                if piece.text:
                    draft = " ".join([*(s.claim for s, _ in held), splitter.pending])
                    yield Delta(piece.text, draft.strip())
            held += [check(parsed) for parsed in splitter.close()]
            timings["generate"] = _ms(clock)
            judged = time.perf_counter()
            for sentence, wanted in held:
                if self.judge and wanted:
                    sentence = await self.judge.reread(
                        sentence, passages, standalone, messages, written
                    )
                checked.append(sentence)
                yield _checked(sentence, passages)
                timings.setdefault("first_sentence", _ms(clock))
            if self.judge:
                timings["judge"] = _ms(judged)
        except LLMError as exc:
            fallback = None
            if self.evidence is not None and passages:
                fallback = self._extractive(
                    question, standalone, passages, quotes, timings, LLM_UNAVAILABLE
                )
            yield Failed(AnswerFailed(exc, passages, fallback))
            return
        answer = self._finish(question, prepared, checked, model, usage, timings, filters)
        yield Done(answer.model_copy(update={"evidence": quotes}))

    def _extractive(
        self,
        question: str,
        standalone: str,
        passages: list[Passage],
        quotes: list[EvidenceQuote],
        timings: dict[str, float],
        fallback: str | None = None,
    ) -> Answer:
        """The answer made of the evidence quotes, verbatim, each with its passage's marker:
        every sentence is supported by construction (it is the cited text itself)."""
        if not passages:
            answer = self._no_sources(question, standalone, timings)
            return answer.model_copy(update={"mode": "extractive", "fallback": fallback})
        sentences = [CheckedSentence(q.quote, [q.n], True, None).sentence(passages) for q in quotes]
        citations = [Citation(**q.model_dump()) for q in quotes]
        log.info("answered", mode="extractive", fallback=fallback, quotes=len(quotes))
        return Answer(
            question=question,
            condensed_question=standalone,
            answer=" ".join(with_markers(q.quote, [q.n]) for q in quotes),
            citations=sorted(citations, key=lambda c: (c.n, c.start)),
            sentences=sentences,
            grounded=bool(quotes),
            support_score=1.0 if quotes else None,  # the quotes themselves
            passages=passages,
            model="extractive",
            timings_ms=timings,
            evidence=quotes,
            mode="extractive",
            fallback=fallback,
        )

    def _finish(
        self,
        question: str,
        prepared: Prepared,
        checked: list[CheckedSentence],
        model: str,
        usage: dict[str, int],
        timings: dict[str, float],
        filters: Filters | None,
    ) -> Answer:
        standalone, passages = prepared.question, prepared.passages
        result = assemble(checked, passages)
        told = [(c.claim, c.cited) for c in checked if c.supported]
        found = [
            c.model_copy(update={"reported": conflicting.reported(c, told)})
            for c in prepared.conflicts
        ]
        text, as_of, stale = result.answer, None, None
        sentences = result.sentences
        if result.grounded:  # the model did not report both sides: the service says it
            found = [
                c if c.reported else c.model_copy(update={"stated": conflicting.statement(c)})
                for c in found
            ]
            added = [c for c in found if c.stated]
            text = " ".join([text, *(c.stated or "" for c in added)])
            sentences = [*sentences, *(_stated(c, passages) for c in added)]
        if prepared.latest:  # dated by the pipeline, not trusted to the model
            reference = _as_of(filters) or datetime.now(UTC).date()
            stale = staleness(
                newest(p.published for p in passages), reference, self.stale_after_days
            )
            if result.grounded:
                day = newest(c.published for c in result.citations) or reference
                text, as_of = as_of_prefix(text, day), day.isoformat()
            if stale:
                text = f"{text} {stale}"
        log.info(
            "answered",
            grounded=result.grounded,
            citations=len(result.citations),
            conflicts=len(found),
            conflicts_reported=sum(bool(c.reported) for c in found),
            unsupported=sum(not s.supported for s in result.sentences),
            **{f"{k}_ms": v for k, v in timings.items()},
        )
        return Answer(
            question=question,
            condensed_question=standalone,
            answer=text,
            citations=result.citations,
            sentences=sentences,
            grounded=result.grounded,
            support_score=result.support_score,
            passages=passages,
            conflicts=found,
            as_of=as_of,
            staleness=stale,
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


def _checked(sentence: CheckedSentence, passages: list[Passage]) -> Checked:
    data = sentence.sentence(passages)
    if not sentence.supported:
        return Checked(sentence, [], data)
    by_n = {p.n: p for p in passages}
    cited = [citation_for(n, q, by_n[n]) for n, q in sentence.quotes.items()]
    return Checked(sentence, cited, data)


def _stated(conflict: Conflict, passages: list[Passage]) -> Sentence:
    """The service's sentence on a conflict, as the answer reports it: each side is its
    passage's own figure, so it is supported by construction."""
    cited = sorted({c.citation for c in conflict.claims})
    text = re.sub(r"\s+(?=[;.]|$)", "", MARKER.sub("", conflict.stated or ""))
    return CheckedSentence(text, cited, True, None).sentence(passages)


def _newest_first(passages: list[Passage]) -> list[Passage]:
    """Newest article first (undated last), renumbered; a stable sort keeps the rank within a
    day."""
    ordered = sorted(passages, key=lambda p: (p.published or "")[:10], reverse=True)
    return [p.model_copy(update={"n": i}) for i, p in enumerate(ordered, start=1)]


def _as_of(filters: Filters | None) -> date | None:
    return filters.as_of if filters else None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
