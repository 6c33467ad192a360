"""Pydantic models of the HTTP API only: request bodies, list views, and the error responses
and request bodies as documented in OpenAPI. The data behind them is qa/domain.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt, model_validator

from index.load import Document, ValidText
from qa.domain import AS_OF, Filters, IsoDate, Passage, Turn
from qa.settings import AnswerMode

MODE = (
    "extractive: the answer is the best quotes of the passages, verbatim, with no LLM call "
    "(default: QA_ANSWER_MODE)"
)


class Scoped(ValidText):
    """A request's `filters`, with `as_of` also accepted at the top level (as first published);
    `scope()` is the one place that resolves the two."""

    as_of: IsoDate | None = Field(None, description=AS_OF)
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
    top_k: StrictInt | None = Field(
        None, ge=1, description="passages to retrieve (1..QA_MAX_TOP_K)"
    )
    history: list[Turn] = Field(default_factory=list, max_length=50)
    stream: bool = False
    mode: AnswerMode | None = Field(None, description=MODE)


class SearchRequest(Scoped):
    query: str
    top_k: StrictInt | None = Field(None, ge=1)


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


class FeedIn(ValidText):
    url: str = Field(min_length=1, max_length=2000, description="an RSS or Atom feed, http(s)")
    every: str | None = Field(
        None, max_length=40, description="how often to poll it, e.g. 15m (QA_FEEDS_DEFAULT_EVERY)"
    )
    source: str | None = Field(
        None,
        max_length=200,
        description="the publisher name documents carry (default: the feed's title)",
    )


class FeedPollIn(BaseModel):
    all: bool = Field(False, description="poll every feed now, not only those that are due")


# --- error responses and request bodies, as documented in OpenAPI ---------------------------
class ErrorDetail(BaseModel):
    type: str
    message: str
    request_id: str | None = None


class ErrorBody(BaseModel):
    """Every failure's body (502/504 add `passages`)."""

    error: ErrorDetail


def error_doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorBody}


# documented on the routes: what a caller may get besides the success
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: error_doc("an API key is needed (QA_API_KEYS set) and none was sent"),
    403: error_doc("the API key is wrong, or a write came from another machine with no keys set"),
    422: error_doc("a field is invalid; the message names it"),
    503: error_doc("the Chroma server cannot be reached"),
}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {  # routes that take a JSON body
    **READ_ERRORS,
    400: error_doc("the body is not valid JSON"),
    413: error_doc("the body is over QA_MAX_BODY_BYTES or the question too long"),
    415: error_doc("the body is not application/json"),
}
LLM_ERRORS: dict[int | str, dict[str, Any]] = {
    502: error_doc(
        "the LLM failed; the body still carries the retrieved passages and, unless "
        'QA_EVIDENCE=off, the extractive answer ("mode": "extractive", "fallback": '
        '"llm_unavailable")'
    ),
    504: error_doc(
        "the LLM did not answer within QA_LLM_TIMEOUT_S; passages and extractive answer included"
    ),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error_doc("no document with this id")}
SSE = {
    "text/event-stream": {
        "schema": {"type": "string"},
        "example": 'event: sources\ndata: {"passages": []}\n\n',
    }
}
_DOCUMENT = Document.model_json_schema()
DOCUMENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        _DOCUMENT,
                        {"type": "array", "items": _DOCUMENT, "minItems": 1},
                    ]
                }
            }
        },
    }
}
