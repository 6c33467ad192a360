"""GET /timeline over real HTTP: the app on 127.0.0.1 with the dated corpus posted in (real
embedder, embedded Chroma), its filters, its errors, its auth and its OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import Embedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.news import LATER_REPORTS, STRIKE_QUERY, WIRE_COPY, WIRE_REPORT, timeline_docs
from tests.utils.support import make_settings

KEY = "timeline-key"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm_server: tuple[FakeLLM, str],
    embedder: Embedder,
) -> Iterator[httpx.Client]:
    """Reads need a key here (QA_AUTH_READS), so the route's auth is tested too."""
    tmp: Path = tmp_path_factory.mktemp("timeline-api")
    settings = make_settings(tmp, fake_llm_server[1], api_keys=KEY, auth_reads=True)
    with serve_app(create_app(settings, embedder=embedder)) as url:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            docs = [d.model_dump() for d in timeline_docs()]
            assert http.post("/documents", json=docs).status_code == 200
            yield http


def test_timeline_lists_one_report_per_cluster_oldest_first(client: httpx.Client) -> None:
    reply = client.get("/timeline", params={"q": STRIKE_QUERY})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["query"] == STRIKE_QUERY
    first, *rest = body["entries"]
    assert first["doc_id"] in {WIRE_REPORT, WIRE_COPY}
    assert len(first["also_reported_by"]) == 1
    assert [e["doc_id"] for e in rest] == LATER_REPORTS
    for entry in body["entries"]:
        assert {"title", "source", "published", "quote", "start", "end"} <= set(entry)


def test_timeline_filters_are_the_search_filters(client: httpx.Client) -> None:
    params = {"q": STRIKE_QUERY, "source": "Northern Wire", "before": "2024-03-14"}
    ids = [e["doc_id"] for e in client.get("/timeline", params=params).json()["entries"]]
    assert ids == [WIRE_REPORT]
    params = {"q": STRIKE_QUERY, "as_of": "2024-03-12", "after": "2024-03-06", "limit": 1}
    ids = [e["doc_id"] for e in client.get("/timeline", params=params).json()["entries"]]
    assert len(ids) == 1 and ids[0] in {"metro-strike-spreads", "metro-strike-talks"}


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"q": "  "}, 422, "must not be empty"),
        ({"q": "x" * 1001}, 413, "the limit is 1000"),
        ({"q": "strike", "after": "2024-03-10", "before": "2024-03-01"}, 422, "published_after"),
        ({"q": "strike", "after": "1700000000"}, 422, "ISO 8601"),
        ({"q": "strike", "limit": 0}, 422, "limit"),
        ({}, 422, "q"),
    ],
)
def test_caller_mistakes_are_json_errors(
    client: httpx.Client, params: dict[str, object], status: int, says: str
) -> None:
    reply = client.get("/timeline", params=params)
    assert reply.status_code == status, reply.text
    assert says in reply.json()["error"]["message"]


def test_timeline_is_a_read_route(client: httpx.Client) -> None:
    reply = httpx.get(client.base_url.join("/timeline"), params={"q": STRIKE_QUERY})
    assert reply.status_code == 401 and reply.json()["error"]["type"] == "unauthorized"


def test_openapi_documents_the_timeline(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    get = schema["paths"]["/timeline"]["get"]
    assert {p["name"] for p in get["parameters"]} == {
        "q", "source", "after", "before", "as_of", "limit",
    }  # fmt: skip
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Timeline"
    }
    entry = schema["components"]["schemas"]["TimelineEntry"]["properties"]
    assert {"quote", "start", "end", "published", "also_reported_by"} <= set(entry)
    assert "/mcp" not in schema["paths"]
