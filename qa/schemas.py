"""Pydantic models of the HTTP API (and the answer data the CLI prints)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from index.dedup import Report
from index.load import MetadataValue

_METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
AS_OF = "answer as of this day: later articles are ignored (default: today)"


class Filters(BaseModel):
    source: str | None = None
    published_after: date | None = None
    published_before: date | None = None
    metadata: dict[str, MetadataValue] = Field(
        default_factory=dict, description="article metadata that must be equal, e.g. section"
    )
    as_of: date | None = Field(None, description=AS_OF)

    @model_validator(mode="after")
    def _check(self) -> Filters:
        after, before = self.published_after, self.published_before
        if after and before and after > before:
            raise ValueError("published_after must not be later than published_before")
        for key in self.metadata:
            if not _METADATA_KEY.fullmatch(key):
                raise ValueError(f"metadata key {key!r}: use letters, digits, '_', '-' or '.'")
        return self


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Scoped(BaseModel):
    """A request's `filters`, with `as_of` also accepted at the top level (as first published);
    `scope()` is the one place that resolves the two."""

    as_of: date | None = Field(None, description=AS_OF)
    filters: Filters | None = None

    @model_validator(mode="after")
    def _one_as_of(self) -> Scoped:
        inner = self.filters.as_of if self.filters else None
        if self.as_of and inner and self.as_of != inner:
            raise ValueError("as_of and filters.as_of name different days: give one")
        return self

    def scope(self) -> Filters | None:
        """The filters to search with, `as_of` included."""
        if self.as_of is None:
            return self.filters
        return (self.filters or Filters()).model_copy(update={"as_of": self.as_of})


class AskRequest(Scoped):
    question: str
    top_k: int | None = Field(None, ge=1, description="passages to retrieve (1..QA_MAX_TOP_K)")
    history: list[Turn] = Field(default_factory=list, max_length=50)
    stream: bool = False


class SearchRequest(Scoped):
    query: str
    top_k: int | None = Field(None, ge=1)


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


class Sentence(BaseModel):
    text: str
    citations: list[int]
    supported: bool


class Answer(BaseModel):
    question: str
    condensed_question: str
    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    grounded: bool
    passages: list[Passage]
    model: str
    usage: dict[str, int] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class SearchResponse(BaseModel):
    query: str
    passages: list[Passage]


class DocumentOut(BaseModel):
    id: str
    title: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunk_count: int
    content_hash: str
    ingested_at: str
    text: str | None = None


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    total: int
    limit: int
    offset: int


class IngestResult(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    chunks: int
