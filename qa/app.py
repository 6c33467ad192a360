"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
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
from qa.openai_compat import router as openai_router
from qa.services import build_services
from qa.settings import Settings, get_settings

STATIC_DIR = Path(str(files("qa") / "static"))  # package data, wherever `qa` is installed


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
        app.state.services = build_services(settings, llm=llm, embedder=embedder, store=store)
        yield
        if llm is None:
            await app.state.services.llm.aclose()

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
