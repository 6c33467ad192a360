"""One error shape for every failure: `{"error": {"type", "message", "request_id"}}` plus
optional extras, and a log line for each (5xx with their cause)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.lazy import StoreUnavailable
from qa.llm.base import LLMError
from qa.llm.queue import LLMBusy
from qa.logs import current_request_id
from qa.pipeline import AnswerFailed

log = structlog.get_logger(__name__)

_HTTP_KINDS = {
    400: "invalid_json",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra


class ErrorJSON(JSONResponse):
    # ASCII-escaped, so text echoed from bad input (a lone surrogate) can always be encoded
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """`retry_after` (seconds) in `extra` also becomes the Retry-After header (429, 503)."""
    request_id = current_request_id()
    if extra.get("retry_after") is not None:
        headers = {**(headers or {}), "Retry-After": str(extra["retry_after"])}
    (log.error if status >= 500 else log.info)(
        "request_failed", status=status, error_type=kind, message=message
    )
    body = {"error": {"type": kind, "message": message, "request_id": request_id}, **extra}
    return ErrorJSON(body, status_code=status, headers=headers)


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "request body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = exc.extra.pop("headers", None)
        return error_response(exc.status, exc.kind, exc.message, headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "invalid_json", "the body is not valid JSON")
        return error_response(422, "invalid_request", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_KINDS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, kind, str(exc.detail), exc.headers)

    @app.exception_handler(AnswerFailed)
    async def _llm_failed(_: Request, exc: AnswerFailed) -> JSONResponse:
        # the message was redacted where it was made (qa.llm.base); __cause__ holds the upstream error
        log.error("llm_failed", status=exc.error.status, cause=type(exc.error.__cause__).__name__)
        # the status stays 502/504 (the LLM did fail: monitors and clients see it), and the
        # body also carries the extractive answer served in its place, when there is one
        extra: dict[str, Any] = exc.fallback.model_dump() if exc.fallback else {}
        extra["passages"] = [p.model_dump() for p in exc.passages]
        if isinstance(exc.error, LLMBusy):
            extra["retry_after"] = exc.error.retry_after
        return error_response(exc.error.status, exc.error.kind, str(exc), **extra)

    @app.exception_handler(LLMError)
    async def _judge_failed(_: Request, exc: LLMError) -> JSONResponse:
        # POST /check's judge (an answer's LLM failure is an AnswerFailed, with its passages)
        log.error("llm_failed", status=exc.status, cause=type(exc.__cause__).__name__)
        extra: dict[str, Any] = {"retry_after": exc.retry_after} if isinstance(exc, LLMBusy) else {}
        return error_response(exc.status, exc.kind, str(exc), **extra)

    @app.exception_handler(StoreUnavailable)
    async def _store_not_connected(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return error_response(503, "store_unavailable", str(exc))

    @app.exception_handler(httpx.TransportError)
    async def _store_down(_: Request, exc: httpx.TransportError) -> JSONResponse:
        # the Chroma HTTP client is the only httpx user on request paths (openai uses httpx2)
        return error_response(503, "store_unavailable", f"cannot reach the Chroma server: {exc}")
