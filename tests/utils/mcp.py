"""The MCP SDK's own client, in process (memory streams) or over streamable HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {"ask", "search", "check", "get_document", "timeline"}


@contextlib.asynccontextmanager
async def connect(
    target: MCPServer[Any] | str, api_key: str | None = None
) -> AsyncIterator[Client]:
    """An initialised client session: over memory streams and JSON-RPC to a server object
    (the SDK's "legacy" mode drives the stream loop, not its direct in-process shortcut), or
    over HTTP to a URL, with `Authorization: Bearer <api_key>` when given."""
    if isinstance(target, str):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        http = create_mcp_http_client(headers=headers)
        async with http, Client(streamable_http_client(target, http_client=http)) as client:
            yield client
        return
    async with Client(target, mode="legacy") as client:
        yield client
