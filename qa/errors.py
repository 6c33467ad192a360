"""One error shape for every failure: `{"error": {"type", "message"}}` plus optional extras."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.llmqueue import LLMBusy
from qa.pipeline import AnswerFailed


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra


def error_response(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    """`retry_after` (seconds) in `extra` also becomes the Retry-After header (429, 503)."""
    retry = extra.get("retry_after")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse(
        {"error": {"type": kind, "message": message}, **extra}, status_code=status, headers=headers
    )


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
        return error_response(exc.status, exc.kind, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _describe(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else "http_error"
        return error_response(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(AnswerFailed)
    async def _llm_failed(_: Request, exc: AnswerFailed) -> JSONResponse:
        passages = [p.model_dump() for p in exc.passages]
        extra = {"retry_after": exc.error.retry_after} if isinstance(exc.error, LLMBusy) else {}
        return error_response(
            exc.error.status, exc.error.kind, str(exc), passages=passages, **extra
        )

    @app.exception_handler(httpx.TransportError)
    async def _store_down(_: Request, exc: httpx.TransportError) -> JSONResponse:
        # the Chroma HTTP client is the only httpx user on request paths (openai uses httpx2)
        return error_response(503, "store_unavailable", f"cannot reach the Chroma server: {exc}")
