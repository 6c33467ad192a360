"""The data every layer speaks: filters, conversation turns, passages, citations, checked
sentences, answers, ingest results and the check service's request and response. HTTP-only
models (request bodies, error documents) are in qa/web/schemas.py."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from index.dedup import Report
from index.load import MetadataValue, ValidText
from qa.settings import AnswerMode, SupportVerdict

_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day_only(value: Any) -> Any:
    # pydantic would also take 0 or "1700000000" as a Unix time: a date here is written out
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("use an ISO 8601 date such as 2024-11-04")


AS_OF = "answer as of this day: later articles are ignored (default: today)"


IsoDate = Annotated[date, BeforeValidator(_iso_day_only)]
MAX_TURN_CHARS = 20_000


class Filters(ValidText):
    source: str | None = None
    published_after: IsoDate | None = None
    published_before: IsoDate | None = None
    metadata: dict[str, MetadataValue] = Field(
        default_factory=dict, description="article metadata that must be equal, e.g. section"
    )
    as_of: IsoDate | None = Field(None, description=AS_OF)

    @model_validator(mode="after")
    def _check(self) -> Filters:
        after, before = self.published_after, self.published_before
        if after and before and after > before:
            raise ValueError("published_after must not be later than published_before")
        for key in self.metadata:
            if not _METADATA_KEY.fullmatch(key):
                raise ValueError(f"metadata key {key!r}: use letters, digits, '_', '-' or '.'")
        return self


class Turn(ValidText):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class SourceSpan(BaseModel):
    """A numbered span of an article; `start`/`end` are offsets into the article's text."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    start: int
    end: int
    score: float


class Passage(SourceSpan):
    text: str
    also_reported_by: list[Report] = Field(default_factory=list)


class Citation(SourceSpan):
    quote: str


class Attribution(BaseModel):
    """Who reported a sentence and when: its cited passage's outlet and date."""

    n: int
    source: str | None = None
    published: str | None = None


class EvidenceQuote(Citation):
    """A sentence of a retrieved passage ranked against the question before any answer is
    written (qa/retrieval/evidence.py): `quote` is article_text[start:end], `n` the passage it
    is in, `score` the ranker's (cross-encoder P(relevant), or cosine for the embedder)."""


class Sentence(BaseModel):
    text: str
    citations: list[int] = Field(description="numbers of the passages that carry it")
    supported: bool
    reason: str | None = Field(
        None, description="why it is not supported, e.g. 'number 122 not in quote'"
    )
    score: float | None = Field(
        None,
        ge=0,
        le=1,
        description="support score: how likely its quote supports it (supported: >= the threshold)",
    )
    verdict: SupportVerdict | None = Field(
        None,
        description="supported; weak (the quote covers too little of it); contradicted (the "
        "quote says otherwise: another number, a negation, swapped roles)",
    )
    sources: list[Attribution] = Field(
        default_factory=list, description="the source and date of each cited passage"
    )


class ConflictClaim(BaseModel):
    value: str = Field(description="the figure as the article words it, e.g. 'some 12,000'")
    source: str | None = None
    published: str | None = None
    citation: int = Field(description="the number of the passage that says it")
    quote: str = Field(description="the sentence of the passage that says it")


class Conflict(BaseModel):
    """Passages of different articles that give different figures for the same thing."""

    about: str = Field(description="what is counted, e.g. 'North Korean troops'")
    claims: list[ConflictClaim]
    reported: bool | None = Field(
        None,
        description="whether the model's answer cites both sides (None before it is written)",
    )
    stated: str | None = Field(
        None,
        description="the sentence the service added to the answer, quoting each side with its "
        "source and date, when the model's answer did not report both",
    )


class Answer(BaseModel):
    question: str
    condensed_question: str
    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    grounded: bool
    support_score: float | None = Field(
        None, ge=0, le=1, description="the lowest support score of its sentences"
    )
    passages: list[Passage]
    conflicts: list[Conflict] = Field(
        default_factory=list, description="figures the retrieved articles disagree on"
    )
    as_of: str | None = Field(
        None, description="for latest/current questions: the day the answer speaks as of"
    )
    staleness: str | None = Field(
        None, description="for latest/current questions: how old the newest report found is"
    )
    model: str
    usage: dict[str, int] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    evidence: list[EvidenceQuote] = Field(
        default_factory=list, description="the best sentences of the passages, ranked first"
    )
    mode: AnswerMode = Field(
        "generative", description="extractive: the answer is the evidence quotes, no LLM call"
    )
    fallback: str | None = Field(
        None, description="why an extractive answer was served instead, e.g. llm_unavailable"
    )


class IngestResult(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    chunks: int


class CheckPassage(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    title: str | None = Field(None, description="shown with the passage: counts as its text")
    published: str | None = Field(None, description="ISO date shown with the passage")
    id: str | None = None


class CheckRequest(BaseModel):
    answer: str = Field(min_length=1, max_length=20_000, description="markers [n] name passages")
    passages: list[CheckPassage] = Field(min_length=1, max_length=50)
    question: str | None = Field(None, max_length=2_000)

    def as_passages(self) -> list[Passage]:
        """Passages numbered by position (1-based); offsets are into each passage's text."""
        return [
            Passage(
                n=i,
                doc_id=p.id or f"passage-{i}",
                chunk_id=p.id or f"passage-{i}",
                title=p.title or "",
                published=p.published,
                start=0,
                end=len(p.text),
                score=0.0,
                text=p.text,
            )
            for i, p in enumerate(self.passages, start=1)
        ]


class CheckCitation(BaseModel):
    passage: int = Field(description="1-based position in the request's passages")
    start: int = Field(description="offset into that passage's text")
    end: int
    quote: str


class CheckedClaim(BaseModel):
    text: str
    supported: bool
    reason: str | None = None
    score: float = Field(ge=0, le=1, description="support score (supported: >= the threshold)")
    verdict: SupportVerdict
    citations: list[CheckCitation]


class CheckResponse(BaseModel):
    grounded: bool
    support_score: float | None = Field(
        None, ge=0, le=1, description="the lowest support score of its sentences"
    )
    sentences: list[CheckedClaim]
