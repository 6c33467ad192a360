"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index.embed import Embedder
from index.lock import DataDirBusy
from index.store import Store
from qa.api import router
from qa.errors import error_response, install_error_handlers
from qa.llm import LLM
from qa.logs import configure_logging
from qa.openai_compat import router as openai_router
from qa.services import build_services, data_dir_lock
from qa.settings import Settings, get_settings

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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        # an embedded Chroma is this process's alone while it serves (a given store is the caller's)
        lock = data_dir_lock(settings, "qa serve") if store is None else nullcontext()
        try:
            with lock:
                app.state.services = build_services(
                    settings, llm=llm, embedder=embedder, store=store
                )
                index = app.state.services.index
                await run_in_threadpool(index.open)  # in step with Chroma before any request
                index.start_polling()  # follow writes made through other processes
                yield
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
    )
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

    app.include_router(router)
    app.include_router(openai_router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
