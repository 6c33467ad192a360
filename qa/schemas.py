"""Pydantic models of the HTTP API (and the answer data the CLI prints)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field


class Filters(BaseModel):
    source: str | None = None
    published_after: date | None = None
    published_before: date | None = None


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str
    top_k: int | None = Field(None, ge=1, description="passages to retrieve (1..QA_MAX_TOP_K)")
    filters: Filters | None = None
    history: list[Turn] = Field(default_factory=list, max_length=50)
    stream: bool = False


class SearchRequest(BaseModel):
    query: str
    top_k: int | None = Field(None, ge=1)
    filters: Filters | None = None


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
