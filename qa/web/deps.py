"""What routes share: the app's services as a dependency, and the request checks every
question-taking route (/ask, /search, /v1) applies the same way."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qa.services import Services
from qa.settings import AnswerMode
from qa.web.errors import ApiError


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


def answer_mode(mode: AnswerMode | None, svc: Services) -> AnswerMode:
    """The request's mode, else the deployment's; extractive needs the evidence ranker."""
    chosen = mode or svc.settings.answer_mode
    if chosen == "extractive" and svc.qa.evidence is None:
        raise ApiError(422, "invalid_request", "extractive answers need QA_EVIDENCE on")
    return chosen


def ensure_llm_free(svc: Services) -> None:
    """Refuse before retrieval when the LLM queue is full; streams could not say it later."""
    if svc.llm.full():
        busy = svc.llm.refusal()
        raise ApiError(busy.status, busy.kind, str(busy), retry_after=busy.retry_after)
