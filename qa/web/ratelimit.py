"""Per-client rate limit (`QA_RATE_LIMIT`, e.g. "60/minute"): a token bucket per API key or
client address, in process. Over the limit: 429 JSON with Retry-After.

Measured before it existed: one client sending 200 questions raised another's p50 from 31 ms
to 347 ms. Each replica keeps its own buckets, so N replicas allow N times the rate."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from qa.web.errors import error_response

MAX_CLIENTS = 100_000  # buckets kept; the least recently seen client is forgotten first
# liveness, readiness, metrics, the chat page and its files are never limited
EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/", "/docs", "/openapi.json", "/redoc")


class TokenBucketLimiter:
    """Each client may burst `count` requests, then one every `period / count` seconds."""

    def __init__(self, count: int, period_s: float, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(count)
        self.per_second = count / period_s
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.per_second
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            return wait


def client_identity(scope: Scope, api_keys: frozenset[str]) -> str:
    """The API key when it is a known one (a made-up key must not buy a fresh bucket), else
    the client's address (behind a proxy: run uvicorn with --forwarded-allow-ips)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token in api_keys:
                return "key:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: TokenBucketLimiter,
        api_keys: frozenset[str] = frozenset(),
        on_limited: Callable[[], None] | None = None,
    ):
        self.app = app
        self.limiter = limiter
        self.api_keys = api_keys
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or path.startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        wait = self.limiter.take(client_identity(scope, self.api_keys))
        if not wait:
            await self.app(scope, receive, send)
            return
        if self.on_limited:
            self.on_limited()
        retry = max(1, math.ceil(wait))
        response = error_response(
            429, "rate_limited", f"too many requests: try again in {retry} s", retry_after=retry
        )
        await response(scope, receive, send)
