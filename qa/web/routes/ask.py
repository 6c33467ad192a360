"""/ask (whole or streamed), /check and /search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from qa.checking.service import check_request
from qa.domain import Answer, CheckRequest, CheckResponse
from qa.web.deps import (
    ServicesDep,
    answer_mode,
    checked_question,
    checked_top_k,
    ensure_llm_free,
)
from qa.web.schemas import (
    COMMON_ERRORS,
    LLM_ERRORS,
    SSE,
    AskRequest,
    SearchRequest,
    SearchResponse,
)
from qa.web.security import READ
from qa.web.streaming import sse_events, started

router = APIRouter()


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
    mode = answer_mode(body.mode, svc)
    if mode == "generative":
        ensure_llm_free(svc)  # an extractive answer never waits for the LLM
    filters = body.scope()
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not wants_stream:
        return await svc.qa.ask(question, top_k, filters, body.history, mode)
    events = await started(svc.qa.events(question, top_k, filters, body.history, mode))
    return EventSourceResponse(sse_events(events), ping=15)


@router.post("/check", response_model=CheckResponse, dependencies=[READ], responses=COMMON_ERRORS)
async def check(body: CheckRequest, svc: ServicesDep) -> CheckResponse:
    """Check an answer's sentences against the given passages, as /ask checks its own."""
    if svc.qa.judge is not None:
        ensure_llm_free(svc)  # the second reading asks the LLM
    return await check_request(body, svc.qa.judge, svc.qa.support_threshold)


@router.post("/search", response_model=SearchResponse, dependencies=[READ], responses=COMMON_ERRORS)
async def search(body: SearchRequest, svc: ServicesDep) -> SearchResponse:
    query = checked_question(body.query, svc)
    passages = await svc.qa.search(query, checked_top_k(body.top_k, svc), body.scope())
    return SearchResponse(query=query, passages=passages)
