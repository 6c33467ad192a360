"""The FastAPI application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from swagger_ui_bundle import swagger_ui_path

from index.embed import Embedder
from index.lock import DataDirBusy
from index.store import Store
from qa.feeds.manage import Feeds
from qa.llm.base import LLM
from qa.logs import configure_logging
from qa.mcp.http import StreamableHTTPEndpoint
from qa.metrics import Metrics, MetricsMiddleware
from qa.services import build_services, data_dir_lock
from qa.settings import Settings, get_settings, parse_rate
from qa.web.errors import install_error_handlers
from qa.web.middleware import BodyLimit, RequestContext
from qa.web.ratelimit import RateLimitMiddleware, TokenBucketLimiter
from qa.web.routes import ask, documents, feeds, health, openai_compat, timeline
from qa.web.schemas import COMMON_ERRORS, LLM_ERRORS
from qa.web.security import READ, Guarded, check_mcp

STATIC_DIR = Path(str(files("qa.web") / "static"))  # package data, wherever `qa` is installed
# the chat page must not be framed by another site (clickjacking)
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


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
    mcp = StreamableHTTPEndpoint(settings)  # /mcp: its session manager lives in the lifespan

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_json)
        # an embedded Chroma is this process's alone while it serves (a given store is the caller's)
        lock = data_dir_lock(settings, "qa serve") if store is None else nullcontext()
        try:
            with lock:
                app.state.services = build_services(
                    settings,
                    llm=llm,
                    embedder=embedder,
                    store=store,
                    metrics=metrics,
                    stopping=stopping,
                )
                index = app.state.services.index
                try:  # in step with Chroma before any request, if Chroma is there
                    await run_in_threadpool(index.open)
                except Exception as error:  # a Chroma server still down: the poller retries
                    logging.getLogger(__name__).warning("index not opened yet: %s", error)
                index.start_polling()  # follow writes made through other processes
                app.state.feeds = Feeds(settings, app.state.services.write_documents)
                if settings.feeds:  # the in-serve poller (one across replicas: the lease)
                    app.state.feeds.start()
                try:
                    async with mcp.running(lambda: app.state.services):
                        yield
                finally:
                    await run_in_threadpool(app.state.feeds.close)
                app.state.services.jobs.close()
                index.close()
                if llm is None:
                    await app.state.services.llm.aclose()
        except DataDirBusy as busy:
            logging.getLogger(__name__).error("cannot serve: %s", busy)
            raise

    app = FastAPI(
        title="News QA",
        version="0.1.0",
        description="Answers questions about news articles, with verified citations.",
        lifespan=lifespan,
        docs_url=None,  # served below from local files: the product works offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.stopping = stopping
    install_error_handlers(app)
    # added innermost first: metrics outermost (it sees every answer, 413 and 429 included),
    # then RequestContext, so every response has an id; the rate limit runs before other work
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.rate_limit:
        app.add_middleware(
            RateLimitMiddleware,
            limiter=TokenBucketLimiter(*parse_rate(settings.rate_limit)),
            api_keys=frozenset(settings.api_key_list),
            on_limited=metrics.rate_limited.inc,
        )
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestContext)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    for routes in (ask, documents, feeds, health, timeline):
        app.include_router(routes.router)
    app.include_router(
        openai_compat.router, dependencies=[READ], responses={**COMMON_ERRORS, **LLM_ERRORS}
    )
    # the MCP server over streamable HTTP (docs/mcp.md); a raw ASGI route, so not in OpenAPI
    app.router.routes.append(
        Route("/mcp", Guarded(mcp, check_mcp), methods=["GET", "POST", "DELETE"])
    )
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=NO_FRAMING)

    return app
