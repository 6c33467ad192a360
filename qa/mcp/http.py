"""The MCP server over streamable HTTP, as an ASGI endpoint a web app mounts (at /mcp).

The SDK's session manager runs only once per instance, so each `running()` (one app lifespan)
builds a new server and manager; between lifespans the endpoint answers 503. Stateless, with
JSON responses: every tool call is one POST answered by one JSON reply, so any replica behind a
load balancer can answer it and no session outlives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from qa.mcp.server import build_server
from qa.services import Services
from qa.settings import Settings


class StreamableHTTPEndpoint:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, services: Callable[[], Services]) -> AsyncIterator[None]:
        """Serve MCP requests until the block ends (the app's lifespan)."""
        server = build_server(services)
        # builds the session manager; the SDK's own Starlette app around it is not used.
        # `host`: on a loopback address the SDK also refuses other Host and Origin headers
        # (DNS rebinding), as the SDK's own server does
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            host=self.settings.host,
            max_request_body_size=self.settings.max_body_bytes,
        )
        manager = server.session_manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            body = {"error": {"type": "starting", "message": "the MCP server is not running"}}
            await JSONResponse(body, status_code=503)(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)
