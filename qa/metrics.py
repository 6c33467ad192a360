"""Prometheus metrics (`GET /metrics`): requests by route template and status, LLM latency,
tokens and queue, retrieval latency, rate limiting and ingest progress.

Each app gets its own registry, so tests (and several apps in one process) never share counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# seconds: from a cached search (ms) to a slow local model answer (tens of seconds)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160)
F = TypeVar("F", bound=Callable[..., Any])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "qa_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "qa_http_request_duration_seconds",
            "HTTP request duration, until the last byte of the response (whole streams too)",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=r,
        )
        self.llm_seconds = Histogram(
            "qa_llm_call_duration_seconds",
            "LLM call duration once it left the queue (condensing and answering)",
            buckets=BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "qa_llm_tokens",
            "LLM tokens as the server reports them (else one per streamed piece)",
            ["type"],
            registry=r,
        )
        self.llm_waiting = Gauge("qa_llm_queue_waiting", "LLM calls waiting", registry=r)
        self.llm_running = Gauge("qa_llm_queue_running", "LLM calls running", registry=r)
        self.llm_rejected = Counter(
            "qa_llm_queue_rejected", "LLM calls refused because the queue was full", registry=r
        )
        self.retrieval_seconds = Histogram(
            "qa_retrieval_duration_seconds", "Retrieval duration", buckets=BUCKETS, registry=r
        )
        self.rate_limited = Counter("qa_rate_limited", "Requests refused with 429", registry=r)
        self.ingest_done = Gauge(
            "qa_ingest_job_documents_done", "Documents done in the running ingest job", registry=r
        )
        self.ingest_total = Gauge(
            "qa_ingest_job_documents_total", "Documents in the running ingest job", registry=r
        )
        self.ingest_jobs = Counter(
            "qa_ingest_jobs", "Ingest jobs finished, by outcome", ["status"], registry=r
        )
        self.ingested = Counter(
            "qa_ingested_documents", "Documents written by POST /documents and jobs", registry=r
        )

    def timed(self, histogram: Histogram, fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with histogram.time():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_label(scope: Scope) -> str:
    """The route template (`/documents/{doc_id}`), never the raw path: ids would explode the
    label set."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "/static" if scope.get("path", "").startswith("/static/") else "unmatched"


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it sees the end of a streamed response too."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            labels = (scope["method"], route_label(scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.request_seconds.labels(*labels).observe(time.perf_counter() - start)

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()  # before the last byte leaves: a client's next request sees it counted
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if not recorded:
                record()
