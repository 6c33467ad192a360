"""HTTP routes: /ask, /check, /search, /documents, health checks."""

from __future__ import annotations

import json
from typing import Annotated, Any

import structlog
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
from qa.prompt import HISTORY_TURNS
from qa.redact import redact
from qa.schemas import (
    COMMON_ERRORS,
    DOCUMENTS_BODY,
    LLM_ERRORS,
    NOT_FOUND,
    READ_ERRORS,
    SSE,
    Answer,
    AskRequest,
    CheckRequest,
    CheckResponse,
    DocumentList,
    DocumentOut,
    IngestResult,
    SearchRequest,
    SearchResponse,
    error_doc,
)
from qa.security import READ, WRITE, is_trusted
from qa.services import Services
from qa.streaming import sse_events, started

log = structlog.get_logger(__name__)
router = APIRouter()
_documents_adapter: TypeAdapter[list[Document]] = TypeAdapter(list[Document])
MAX_OFFSET = 2**31 - 1  # Chroma takes a 32-bit offset; past it, 422 rather than a crash


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


@router.post(
    "/ask",
    response_model=Answer,
    dependencies=[READ],
    responses={
        **COMMON_ERRORS,
        **LLM_ERRORS,
        200: {"content": SSE, "description": "the answer, or SSE events when streaming"},
    },
)
async def ask(body: AskRequest, request: Request, svc: ServicesDep) -> Any:
    question = checked_question(body.question, svc)
    top_k = checked_top_k(body.top_k, svc)
    ensure_llm_free(svc)
    filters = body.scope()
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not wants_stream:
        return await svc.qa.ask(question, top_k, filters, body.history)
    events = await started(svc.qa.events(question, top_k, filters, body.history))
    return EventSourceResponse(sse_events(events), ping=15)


@router.post("/check", response_model=CheckResponse, dependencies=[READ], responses=COMMON_ERRORS)
async def check(body: CheckRequest, svc: ServicesDep) -> CheckResponse:
    """Check an answer's sentences against the given passages, as /ask checks its own."""
    if svc.qa.judge is not None:
        ensure_llm_free(svc)  # the second reading asks the LLM
    return await grounding.check(body, svc.qa.judge)


@router.post("/search", response_model=SearchResponse, dependencies=[READ], responses=COMMON_ERRORS)
async def search(body: SearchRequest, svc: ServicesDep) -> SearchResponse:
    query = checked_question(body.query, svc)
    passages = await svc.qa.search(query, checked_top_k(body.top_k, svc), body.scope())
    return SearchResponse(query=query, passages=passages)


@router.post(
    "/documents",
    response_model=IngestResult,
    status_code=200,
    dependencies=[WRITE],
    responses={
        **COMMON_ERRORS,
        202: {"description": "a large batch: queued as a job, see GET /jobs/{job_id}"},
    },
    openapi_extra=DOCUMENTS_BODY,
)
async def add_documents(request: Request, svc: ServicesDep) -> Any:
    """One document object or a JSON array of them. All are validated before any is written.
    Over `QA_INGEST_SYNC_MAX` documents or `QA_INGEST_SYNC_MAX_CHARS` characters the batch
    becomes a background job: 202 with its `job_id`."""
    try:
        payload = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body must be a JSON document or array") from None
    except RecursionError:  # e.g. 100,000 nested arrays
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from None
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


@router.get(
    "/jobs/{job_id}",
    dependencies=[WRITE],
    responses={**COMMON_ERRORS, 404: error_doc("no job with this id (jobs are kept in memory)")},
)
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


@router.get("/documents", response_model=DocumentList, dependencies=[READ], responses=READ_ERRORS)
async def list_documents(
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DocumentList:
    stored, total = await run_in_threadpool(svc.store.list_documents, limit, offset)
    return DocumentList(
        documents=[_document_out(s, with_text=False) for s in stored],
        total=total,
        limit=limit,
        offset=offset,
    )


# `:path`, so an id with "/" (allowed at ingest, and cited) can be read and deleted too
@router.get(
    "/documents/{doc_id:path}",
    response_model=DocumentOut,
    dependencies=[READ],
    responses={**READ_ERRORS, **NOT_FOUND},
)
async def get_document(doc_id: str, svc: ServicesDep) -> DocumentOut:
    stored = await run_in_threadpool(svc.store.get_document, doc_id)
    if stored is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    return _document_out(stored, with_text=True)


@router.delete(
    "/documents/{doc_id:path}",
    status_code=204,
    dependencies=[WRITE],
    responses={**READ_ERRORS, **NOT_FOUND},
)
async def delete_document(doc_id: str, svc: ServicesDep) -> Response:
    if not await run_in_threadpool(svc.index.delete, doc_id):
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    return Response(status_code=204)


@router.get("/config")
async def config(svc: ServicesDep) -> dict[str, int]:
    """The limits a client should keep to: the chat page sizes its input and history by them."""
    return {"max_question_chars": svc.settings.max_question_chars, "history_turns": HISTORY_TURNS}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: error_doc("the store or the LLM cannot be reached")})
async def readyz(request: Request, svc: ServicesDep) -> Any:
    # why a check failed is for trusted callers only (a key, or this machine with no keys)
    detailed = is_trusted(request, svc.settings)
    secrets = [svc.settings.llm_api_key, *svc.settings.api_key_list]
    checks: dict[str, str] = {}
    for name, check in (("store", _store_ok), ("llm", _llm_ok)):
        try:
            await check(svc)
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            log.warning("not_ready", check=name, error=redact(str(exc), secrets))
            checks[name] = (
                f"unavailable: {redact(str(exc), secrets)}" if detailed else "unavailable"
            )
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        raise ApiError(
            503, "not_ready", "; ".join(f"{k}: {v}" for k, v in checks.items()), checks=checks
        )
    return {"status": "ready", "checks": checks}


async def _store_ok(svc: Services) -> None:
    await run_in_threadpool(svc.store.heartbeat)


async def _llm_ok(svc: Services) -> None:
    await svc.llm.ping()
