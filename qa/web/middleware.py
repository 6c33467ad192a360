"""Pure ASGI middleware: a request id and a log line for every request, a JSON 500 for any
unexpected exception, and the body-size limit counted on the bytes actually received."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.web.errors import error_response

log = structlog.get_logger("qa.request")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a caller's id goes into logs: keep it tame


class RequestContext:
    """Outermost: binds `request_id` for every log line of the request and echoes it as
    `X-Request-ID`; logs one line per request; turns an unhandled exception into a JSON 500."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started, status, responded = time.perf_counter(), 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], path=scope["path"])
            if responded:  # too late for a JSON error: let the server abort the connection
                raise
            response = error_response(
                500, "internal_error", f"internal error; quote request id {request_id}"
            )
            await response(scope, receive, send_with_id)
        finally:
            took = round((time.perf_counter() - started) * 1000, 1)
            (log.error if status >= 500 else log.info)(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=took,
                client=(scope.get("client") or ("?",))[0],
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Answer 413 once a request body passes `max_bytes`, whether or not it declared a
    Content-Length (chunked uploads): the body is read here, counted, then replayed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later reads wait for the disconnect, as a server's do

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "payload_too_large", f"request body over {self.max_bytes} bytes"
        )
        # the unread rest of the body is left behind; the connection is closed after this
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
