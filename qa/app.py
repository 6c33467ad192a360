"""The FastAPI application factory."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from index.embed import Embedder
from index.store import Store
from qa.api import router
from qa.errors import error_response, install_error_handlers
from qa.llm import LLM
from qa.logs import configure_logging
from qa.metrics import Metrics, MetricsMiddleware
from qa.openai_compat import router as openai_router
from qa.ratelimit import RateLimitMiddleware, TokenBucketLimiter
from qa.services import build_services
from qa.settings import Settings, get_settings, parse_rate

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings | None = None,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    store: Store | None = None,
) -> FastAPI:
    """Build the app; the heavy pieces (model, Chroma, LLM client) are made in the lifespan,
    unless given here (tests pass fakes or shared instances)."""
    settings = settings or get_settings()
    metrics = Metrics()
    stopping = threading.Event()  # `qa serve` sets it on SIGTERM: running ingests end

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        app.state.services = build_services(
            settings, llm=llm, embedder=embedder, store=store, metrics=metrics, stopping=stopping
        )
        yield
        app.state.services.jobs.close()
        if llm is None:
            await app.state.services.llm.aclose()

    app = FastAPI(
        title="News QA",
        version="0.1.0",
        description="Answers questions about news articles, with verified citations.",
        lifespan=lifespan,
    )
    app.state.stopping = stopping
    install_error_handlers(app)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > settings.max_body_bytes:
            return error_response(
                413, "payload_too_large", f"request body over {settings.max_body_bytes} bytes"
            )
        return await call_next(request)

    # added last = outermost: the rate limit runs before any other work, and the metrics
    # middleware sees every answer, 413 and 429 included
    if settings.rate_limit:
        limiter = TokenBucketLimiter(*parse_rate(settings.rate_limit))
        app.add_middleware(
            RateLimitMiddleware, limiter=limiter, on_limited=metrics.rate_limited.inc
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    app.include_router(router)
    app.include_router(openai_router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
