"""The MCP server: tools `ask`, `search`, `check`, `get_document` and `timeline`, each calling
the service the matching HTTP route calls (QAService, the check service, the store, the
timeline), with typed inputs and structured (pydantic) outputs.

A failure the caller can act on (an empty question, a missing document, the LLM down or busy)
is a tool error: the result has `isError` and the message, and the server carries on. The
services are looked up on each call (`services()`), because the app builds them in its
lifespan, after the server exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import httpx
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from index.lazy import StoreUnavailable
from index.load import MetadataValue
from qa.checking.service import check_request
from qa.domain import Answer, CheckPassage, CheckRequest, CheckResponse, Filters, Passage, Turn
from qa.llm.base import LLMError
from qa.news.timeline import DEFAULT_LIMIT, MAX_LIMIT, Timeline, build_timeline
from qa.pipeline import AnswerFailed
from qa.services import Services

NAME = "newsqa"
INSTRUCTIONS = (
    "Answers questions about the news articles in this archive, with verified citations. "
    "`ask` answers (each sentence checked against the quoted passages), `search` finds "
    "passages, `timeline` lists the dated reports on a story, `get_document` reads an "
    "article, `check` checks any answer against passages you give."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

TopK = Annotated[
    int | None, Field(None, ge=1, description="passages to retrieve (default QA_TOP_K)")
]
ScopeFilters = Annotated[
    Filters | None, Field(None, description="source, published_after/before, as_of, metadata")
]


class SearchResult(BaseModel):
    query: str
    passages: list[Passage]


class DocumentResult(BaseModel):
    id: str
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    chunk_count: int
    ingested_at: str


def _question(text: str, svc: Services) -> str:
    question = text.strip()
    if not question:
        raise ToolError("the question must not be empty")
    limit = svc.settings.max_question_chars
    if len(question) > limit:
        raise ToolError(f"the question has {len(question)} characters; the limit is {limit}")
    return question


def _top_k(top_k: int | None, svc: Services) -> int:
    limit = svc.settings.max_top_k
    if top_k is not None and top_k > limit:
        raise ToolError(f"top_k must be between 1 and {limit}")
    return top_k or svc.settings.top_k


def _llm_free(svc: Services) -> None:
    """Refuse at once when the LLM queue is full, as the HTTP routes do (503 there)."""
    if svc.llm.full():
        raise ToolError(str(svc.llm.refusal()))


def _store_error(error: Exception) -> ToolError:
    return ToolError(f"the article store cannot be reached: {error}")


def build_server(services: Callable[[], Services]) -> MCPServer[Any]:
    """The MCP server over the services `services()` returns when a tool is called."""
    server: MCPServer[Any] = MCPServer(NAME, instructions=INSTRUCTIONS, version="0.1.0")

    @server.tool(annotations=READ_ONLY)
    async def ask(
        question: Annotated[str, Field(description="the question, in plain words")],
        top_k: TopK = None,
        filters: ScopeFilters = None,
        history: Annotated[
            list[Turn] | None, Field(None, description="earlier turns, oldest first", max_length=50)
        ] = None,
    ) -> Answer:
        """Answer a question from the archive: the answer, its citations (exact quotes with
        offsets into the articles), each sentence's check, and the passages read."""
        svc = services()
        asked = _question(question, svc)
        k = _top_k(top_k, svc)
        _llm_free(svc)
        try:
            return await svc.qa.ask(asked, k, filters, history or [])
        except AnswerFailed as failed:
            raise ToolError(f"{failed.error.kind}: {failed}") from failed
        except (StoreUnavailable, httpx.TransportError) as error:
            raise _store_error(error) from error

    @server.tool(annotations=READ_ONLY)
    async def search(
        query: Annotated[str, Field(description="what to look for")],
        top_k: TopK = None,
        filters: ScopeFilters = None,
    ) -> SearchResult:
        """Find the passages most relevant to a query (no LLM): best article first."""
        svc = services()
        text = _question(query, svc)
        try:
            passages = await svc.qa.search(text, _top_k(top_k, svc), filters)
        except (StoreUnavailable, httpx.TransportError) as error:
            raise _store_error(error) from error
        return SearchResult(query=text, passages=passages)

    @server.tool(annotations=READ_ONLY)
    async def check(
        answer: Annotated[str, Field(description="the answer; markers [n] name passages")],
        passages: Annotated[
            list[CheckPassage], Field(description="the passages [1], [2], ... in order")
        ],
        question: Annotated[str | None, Field(None, description="the question answered")] = None,
    ) -> CheckResponse:
        """Check each sentence of an answer against the passages it cites, as `ask` checks
        its own: which are supported, why not, and the quotes (offsets into each passage)."""
        svc = services()
        try:
            request = CheckRequest(answer=answer, passages=passages, question=question)
        except ValidationError as error:
            raise ToolError(_describe(error)) from error
        if svc.qa.judge is not None:
            _llm_free(svc)  # the judge's second reading asks the LLM
        try:
            return await check_request(request, svc.qa.judge, svc.qa.support_threshold)
        except LLMError as error:
            raise ToolError(f"{error.kind}: {error}") from error

    @server.tool(annotations=READ_ONLY)
    async def get_document(
        doc_id: Annotated[str, Field(description="the article's id (`doc_id` of a passage)")],
    ) -> DocumentResult:
        """Read one article: its full text and what is known of it."""
        svc = services()
        try:
            stored = await run_in_threadpool(svc.store.get_document, doc_id)
        except (StoreUnavailable, httpx.TransportError) as error:
            raise _store_error(error) from error
        if stored is None:
            raise ToolError(f"no document with id {doc_id!r}")
        doc = stored.document
        return DocumentResult(
            **doc.model_dump(),
            chunk_count=stored.chunk_count,
            ingested_at=stored.ingested_at,
        )

    @server.tool(annotations=READ_ONLY)
    async def timeline(
        query: Annotated[str, Field(description="a question or an entity (person, place, story)")],
        filters: ScopeFilters = None,
        limit: Annotated[int, Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> Timeline:
        """The dated reports on a story, oldest first, one per story cluster (copies of one
        wire story are one entry), each with its most relevant sentence: what changed when."""
        svc = services()
        text = _question(query, svc)
        try:
            return await run_in_threadpool(build_timeline, svc.qa.retriever, text, filters, limit)
        except (StoreUnavailable, httpx.TransportError) as error:
            raise _store_error(error) from error

    return server


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in error.errors()
    )
