"""The MCP server mounted at /mcp of the real app, served on 127.0.0.1 by uvicorn: the SDK's
streamable-HTTP client lists and calls the tools; the API keys guard it as they guard reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from index.embed import Embedder
from qa.settings import Settings
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.mcp import TOOLS, connect
from tests.utils.news import STRIKE_QUERY, WIRE_REPORT, timeline_docs
from tests.utils.support import make_settings

KEY = "mcp-test-key"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def served(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str], embedder: Embedder, fake_llm: FakeLLM
) -> Iterator[tuple[str, Settings]]:
    """The app with API keys set, the dated corpus in (through POST /documents)."""
    fake_llm.quote = "eleven-day"
    settings = make_settings(tmp_path, fake_llm_server[1], api_keys=KEY)
    with serve_app(create_app(settings, embedder=embedder)) as url:
        docs = [d.model_dump() for d in timeline_docs()]
        auth = {"Authorization": f"Bearer {KEY}"}
        reply = httpx.post(f"{url}/documents", json=docs, headers=auth, timeout=120)
        assert reply.status_code == 200, reply.text
        yield url, settings


def test_lists_and_calls_every_tool_over_http(served: tuple[str, Settings]) -> None:
    url, _ = served

    async def use() -> tuple[set[str], dict[str, Any]]:
        async with connect(f"{url}/mcp", api_key=KEY) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            passage = {"text": "Dockworkers voted to end their eleven-day strike."}
            calls = {
                "ask": {"question": "How long did the Lisvane port strike last?"},
                "search": {"query": STRIKE_QUERY, "top_k": 3},
                "timeline": {"query": STRIKE_QUERY},
                "get_document": {"doc_id": WIRE_REPORT},
                "check": {"answer": "The strike lasted eleven days [1].", "passages": [passage]},
            }
            results = {name: await client.call_tool(name, args) for name, args in calls.items()}
            return names, results

    names, results = asyncio.run(use())
    assert names == TOOLS
    assert not any(r.is_error for r in results.values())
    assert results["ask"].structured_content["grounded"] is True
    assert len(results["search"].structured_content["passages"]) == 3
    assert len(results["timeline"].structured_content["entries"]) == 4
    assert results["get_document"].structured_content["id"] == WIRE_REPORT
    assert results["check"].structured_content["sentences"][0]["supported"] is True


def test_a_missing_document_is_a_tool_error_over_http(served: tuple[str, Settings]) -> None:
    url, _ = served

    async def use() -> Any:
        async with connect(f"{url}/mcp", api_key=KEY) as client:
            return await client.call_tool("get_document", {"doc_id": "gone"})

    result = asyncio.run(use())
    assert result.is_error and "no document with id 'gone'" in result.content[0].text


def test_without_a_key_mcp_is_401_json_and_a_wrong_key_403(served: tuple[str, Settings]) -> None:
    url, _ = served
    missing = httpx.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(
        f"{url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["type"] == "forbidden"
    right = httpx.post(
        f"{url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {KEY}"}
    )
    assert right.status_code == 200, right.text
    assert right.json()["result"]["serverInfo"]["name"] == "newsqa"


def test_the_sdk_client_without_a_key_is_refused(served: tuple[str, Settings]) -> None:
    url, _ = served

    async def use() -> None:
        async with connect(f"{url}/mcp") as client:
            await client.list_tools()

    # the SDK reports the refused POST as an error response (it does not name the status)
    with pytest.raises(BaseException) as raised:
        asyncio.run(use())
    assert any(isinstance(e, MCPError) for e in _leaves(raised.value))


def _leaves(error: BaseException) -> list[BaseException]:
    """The errors an exception group (anyio's task groups nest them) holds, or the error."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def test_without_keys_mcp_is_open_like_the_read_routes(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str], embedder: Embedder
) -> None:
    settings = make_settings(tmp_path, fake_llm_server[1])
    with serve_app(create_app(settings, embedder=embedder)) as url:
        reply = httpx.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        assert reply.status_code == 200, reply.text
        # on a loopback address the SDK refuses another Host (DNS rebinding)
        rebound = httpx.post(
            f"{url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Host": "evil.example"}
        )
        assert rebound.status_code == 421
