"""/documents (add, list, read, delete) and the ingest jobs of large batches."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from index.load import Document, describe_validation_error
from index.store import StoredDocument
from qa.domain import IngestResult
from qa.jobs import IngestStopped, JobQueueFull
from qa.services import Services
from qa.web.deps import ServicesDep
from qa.web.errors import ApiError
from qa.web.schemas import (
    COMMON_ERRORS,
    DOCUMENTS_BODY,
    NOT_FOUND,
    READ_ERRORS,
    DocumentList,
    DocumentOut,
    error_doc,
)
from qa.web.security import READ, WRITE

router = APIRouter()
_documents_adapter: TypeAdapter[list[Document]] = TypeAdapter(list[Document])
MAX_OFFSET = 2**31 - 1  # Chroma takes a 32-bit offset; past it, 422 rather than a crash


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
