"""The MCP tools through the SDK's own client over memory streams: the real services (real
embedder, embedded Chroma, the keyword index) over the dated corpus, the in-process fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from mcp import Client

from index.embed import Embedder
from qa.llm.base import LLMError
from qa.mcp.server import build_server
from qa.services import Services, build_services
from qa.testing.fakes import ScriptedLLM
from qa.testing.llm_server import FakeLLM
from tests.utils.mcp import TOOLS, connect
from tests.utils.news import STRIKE_QUERY, WIRE_COPY, WIRE_REPORT, article_texts, timeline_docs
from tests.utils.support import make_settings

T = TypeVar("T")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Services:
    settings = make_settings(tmp_path_factory.mktemp("mcp"), "http://127.0.0.1:9/v1")
    svc = build_services(settings, llm=FakeLLM(quote="eleven-day"), embedder=embedder)
    svc.write_documents(timeline_docs())
    return svc


def over_mcp(services: Services, use: Callable[[Client], Awaitable[T]]) -> T:
    async def run() -> T:
        async with connect(build_server(lambda: services)) as client:
            return await use(client)

    return asyncio.run(run())


def call(services: Services, name: str, arguments: dict[str, Any]) -> Any:
    return over_mcp(services, lambda client: client.call_tool(name, arguments))


def test_lists_the_five_tools_with_input_and_output_schemas(services: Services) -> None:
    listed = over_mcp(services, lambda client: client.list_tools())
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.output_schema is not None and tool.description
        assert tool.annotations is not None and tool.annotations.read_only_hint
    assert tools["ask"].input_schema["required"] == ["question"]
    assert "filters" in tools["search"].input_schema["properties"]


def test_ask_answers_with_checked_citations(services: Services) -> None:
    result = call(services, "ask", {"question": "How long did the Lisvane port strike last?"})
    assert not result.is_error
    answer = result.structured_content
    assert "eleven-day" in answer["answer"] and answer["grounded"] is True
    cited = answer["citations"][0]
    assert cited["doc_id"] == "wire-strike-ends"
    assert article_texts()[cited["doc_id"]][cited["start"] : cited["end"]] == cited["quote"]


def test_search_takes_filters(services: Services) -> None:
    args = {"query": STRIKE_QUERY, "top_k": 5, "filters": {"source": "Metro Daily"}}
    result = call(services, "search", args)
    assert not result.is_error
    passages = result.structured_content["passages"]
    assert passages and {p["source"] for p in passages} == {"Metro Daily"}


def test_timeline_is_one_entry_per_cluster_in_date_order(services: Services) -> None:
    result = call(services, "timeline", {"query": STRIKE_QUERY, "limit": 10})
    entries = result.structured_content["entries"]
    assert [e["published"] for e in entries] == sorted(e["published"] for e in entries)
    assert len({WIRE_REPORT, WIRE_COPY} & {e["doc_id"] for e in entries}) == 1
    assert len(entries) == 4


def test_check_reports_an_unsupported_number(services: Services) -> None:
    passage = {"text": "The agreement gives the workers an 8 percent raise this year."}
    args = {"answer": "The workers got a 9 percent raise [1].", "passages": [passage]}
    result = call(services, "check", args)
    assert not result.is_error
    checked = result.structured_content
    assert checked["grounded"] is False and checked["sentences"][0]["supported"] is False


def test_get_document_reads_the_article(services: Services) -> None:
    result = call(services, "get_document", {"doc_id": WIRE_REPORT})
    assert not result.is_error
    doc = result.structured_content
    assert doc["text"] == article_texts()[WIRE_REPORT] and doc["source"] == "Northern Wire"


def test_caller_mistakes_are_tool_errors_and_the_server_carries_on(services: Services) -> None:
    async def use(client: Client) -> list[Any]:
        return [
            await client.call_tool("get_document", {"doc_id": "no-such-article"}),
            await client.call_tool("search", {"query": "   "}),
            await client.call_tool("search", {"query": "strike", "top_k": 500}),
            await client.call_tool("check", {"answer": "x", "passages": []}),
            await client.call_tool("timeline", {"query": "strike", "limit": 0}),
            await client.call_tool("get_document", {"doc_id": WIRE_REPORT}),
        ]

    *failed, fine = over_mcp(services, use)
    assert [r.is_error for r in failed] == [True] * 5
    assert "no document with id 'no-such-article'" in failed[0].content[0].text
    assert "must not be empty" in failed[1].content[0].text
    assert "top_k must be between 1 and 20" in failed[2].content[0].text
    assert not fine.is_error, "the same session still answers"


def test_an_llm_failure_is_a_tool_error(services: Services, embedder: Embedder) -> None:
    failing = ScriptedLLM([LLMError("the LLM server answered 500")])
    broken = build_services(services.settings, llm=failing, embedder=embedder)
    result = call(broken, "ask", {"question": "How long did the Lisvane port strike last?"})
    assert result.is_error
    assert "llm_error" in result.content[0].text and "500" in result.content[0].text
