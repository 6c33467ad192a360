"""HTTP routes: /ask, /search, /documents, health checks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from index.load import Document, describe_validation_error
from index.store import StoredDocument
from qa.errors import ApiError
from qa.prompt import HISTORY_TURNS
from qa.schemas import (
    Answer,
    AskRequest,
    DocumentList,
    DocumentOut,
    IngestResult,
    SearchRequest,
    SearchResponse,
)
from qa.services import Services

router = APIRouter()
_documents_adapter: TypeAdapter[list[Document]] = TypeAdapter(list[Document])


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def checked_question(text: str, svc: Services) -> str:
    question = text.strip()
    if not question:
        raise ApiError(422, "invalid_request", "question must not be empty")
    limit = svc.settings.max_question_chars
    if len(question) > limit:
        raise ApiError(
            413,
            "question_too_long",
            f"question has {len(question)} characters; the limit is {limit}",
        )
    return question


def checked_top_k(top_k: int | None, svc: Services) -> int:
    limit = svc.settings.max_top_k
    if top_k is not None and top_k > limit:
        raise ApiError(422, "invalid_request", f"top_k must be between 1 and {limit}")
    return top_k or svc.settings.top_k


@router.post("/ask", response_model=Answer, responses={502: {}, 504: {}})
async def ask(body: AskRequest, request: Request, svc: ServicesDep) -> Any:
    question = checked_question(body.question, svc)
    top_k = checked_top_k(body.top_k, svc)
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not wants_stream:
        return await svc.qa.ask(question, top_k, body.scope(), body.history)

    async def events() -> AsyncIterator[dict[str, str]]:
        async for event, data in svc.qa.ask_stream(question, top_k, body.scope(), body.history):
            yield {"event": event, "data": json.dumps(data)}

    return EventSourceResponse(events(), ping=15)


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, svc: ServicesDep) -> SearchResponse:
    query = checked_question(body.query, svc)
    passages = await svc.qa.search(query, checked_top_k(body.top_k, svc), body.scope())
    return SearchResponse(query=query, passages=passages)


@router.post("/documents", response_model=IngestResult, status_code=200)
async def add_documents(request: Request, svc: ServicesDep) -> IngestResult:
    """One document object or a JSON array of them. All are validated before any is written."""
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body must be a JSON document or array") from None
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise ApiError(422, "invalid_request", "send at least one document")
    try:
        docs = _documents_adapter.validate_python(items)
    except ValidationError as exc:
        raise ApiError(422, "invalid_document", describe_validation_error(exc)) from None
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "invalid_document", "the batch names the same document id twice")
    report = await run_in_threadpool(svc.ingestor.ingest_documents, docs)
    # rebuild BM25 now, so the writer waits for it rather than the next question
    await run_in_threadpool(svc.qa.retriever.keyword.refresh)
    return IngestResult(
        added=report.added, updated=report.updated, unchanged=report.unchanged, chunks=report.chunks
    )


def _document_out(stored: StoredDocument, with_text: bool) -> DocumentOut:
    doc = stored.document
    return DocumentOut(
        **doc.model_dump(exclude={"text"}),
        chunk_count=stored.chunk_count,
        content_hash=stored.content_hash,
        ingested_at=stored.ingested_at,
        text=doc.text if with_text else None,
    )


@router.get("/documents", response_model=DocumentList)
async def list_documents(
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentList:
    stored, total = await run_in_threadpool(svc.store.list_documents, limit, offset)
    return DocumentList(
        documents=[_document_out(s, with_text=False) for s in stored],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/documents/{doc_id}", response_model=DocumentOut)
async def get_document(doc_id: str, svc: ServicesDep) -> DocumentOut:
    stored = await run_in_threadpool(svc.store.get_document, doc_id)
    if stored is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    return _document_out(stored, with_text=True)


@router.delete("/documents/{doc_id}", status_code=204)
async def delete_document(doc_id: str, svc: ServicesDep) -> Response:
    if not await run_in_threadpool(svc.store.delete_document, doc_id):
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    await run_in_threadpool(svc.qa.retriever.keyword.refresh)
    return Response(status_code=204)


@router.get("/config")
async def config(svc: ServicesDep) -> dict[str, int]:
    """The limits a client should keep to: the chat page sizes its input and history by them."""
    return {"max_question_chars": svc.settings.max_question_chars, "history_turns": HISTORY_TURNS}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: ServicesDep) -> Any:
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(svc.store.heartbeat)
        checks["store"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["store"] = f"unavailable: {exc}"
    try:
        await svc.llm.ping()
        checks["llm"] = "ok"
    except Exception as exc:
        checks["llm"] = f"unavailable: {exc}"
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        raise ApiError(
            503, "not_ready", "; ".join(f"{k}: {v}" for k, v in checks.items()), checks=checks
        )
    return {"status": "ready", "checks": checks}
