"""HTTP routes: /ask, /check, /search, /documents, health checks."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from index.load import Document, describe_validation_error
from index.store import StoredDocument
from qa import grounding
from qa.errors import ApiError
from qa.jobs import IngestStopped, JobQueueFull
from qa.schemas import (
    Answer,
    AskRequest,
    CheckRequest,
    CheckResponse,
    DocumentList,
    DocumentOut,
    Filters,
    IngestResult,
    SearchRequest,
    SearchResponse,
)
from qa.services import Services
from qa.streaming import sse_events, started

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


def ensure_llm_free(svc: Services) -> None:
    """Refuse before retrieval when the LLM queue is full; streams could not say it later."""
    if svc.llm.full():
        busy = svc.llm.refusal()
        raise ApiError(busy.status, busy.kind, str(busy), retry_after=busy.retry_after)


def scoped(filters: Filters | None, as_of: date | None) -> Filters | None:
    """The request's filters with its top-level `as_of` folded in."""
    if as_of is None:
        return filters
    return (filters or Filters()).model_copy(update={"as_of": as_of})


@router.post("/ask", response_model=Answer, responses={502: {}, 504: {}})
async def ask(body: AskRequest, request: Request, svc: ServicesDep) -> Any:
    question = checked_question(body.question, svc)
    top_k = checked_top_k(body.top_k, svc)
    ensure_llm_free(svc)
    filters = scoped(body.filters, body.as_of)
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not wants_stream:
        return await svc.qa.ask(question, top_k, filters, body.history)
    events = await started(svc.qa.events(question, top_k, filters, body.history))
    return EventSourceResponse(sse_events(events), ping=15)


@router.post("/check", response_model=CheckResponse)
async def check(body: CheckRequest) -> CheckResponse:
    """Check an answer's sentences against the given passages, as /ask checks its own."""
    return await run_in_threadpool(grounding.check, body)


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, svc: ServicesDep) -> SearchResponse:
    query = checked_question(body.query, svc)
    passages = await svc.qa.search(
        query, checked_top_k(body.top_k, svc), scoped(body.filters, body.as_of)
    )
    return SearchResponse(query=query, passages=passages)


@router.post(
    "/documents",
    response_model=IngestResult,
    status_code=200,
    responses={202: {"description": "a large batch: queued as a job, see GET /jobs/{job_id}"}},
)
async def add_documents(request: Request, svc: ServicesDep) -> Any:
    """One document object or a JSON array of them. All are validated before any is written.
    Over `QA_INGEST_SYNC_MAX` documents or `QA_INGEST_SYNC_MAX_CHARS` characters the batch
    becomes a background job: 202 with its `job_id`."""
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
    check_document_sizes(docs, svc)
    settings = svc.settings
    if (
        len(docs) > settings.ingest_sync_max
        or sum(len(d.text) for d in docs) > settings.ingest_sync_max_chars
    ):
        return submit_job(docs, svc)
    try:
        return await run_in_threadpool(svc.write_documents, docs)
    except IngestStopped:
        raise ApiError(
            503, "stopping", "the server is stopping; send the documents again"
        ) from None


def check_document_sizes(docs: list[Document], svc: Services) -> None:
    limit = svc.settings.max_document_chars
    for i, doc in enumerate(docs):
        if len(doc.text) > limit:
            raise ApiError(
                413,
                "document_too_long",
                f"document {i} ({doc.id!r}) has {len(doc.text)} characters of text; the limit"
                f" is {limit} (QA_MAX_DOCUMENT_CHARS)",
            )


def submit_job(docs: list[Document], svc: Services) -> JSONResponse:
    try:
        job = svc.jobs.submit(docs)
    except JobQueueFull as exc:
        raise ApiError(503, "jobs_busy", f"{exc}; try again later", retry_after=60) from None
    except IngestStopped:
        raise ApiError(
            503, "stopping", "the server is stopping; send the documents again"
        ) from None
    location = f"/jobs/{job.id}"
    return JSONResponse(
        {"job_id": job.id, "status": job.status, "documents": job.total, "url": location},
        status_code=202,
        headers={"Location": location},
    )


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, svc: ServicesDep) -> dict[str, Any]:
    """An ingest job: status (queued, running, done, failed, stopped), progress, result."""
    job = svc.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job with id {job_id!r} (jobs are kept in memory)")
    return job.view()


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
