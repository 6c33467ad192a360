"""`GET /metrics` in the Prometheus text format, after real requests over HTTP."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from qa.testing.llm_server import FakeLLM
from tests.utils.support import QUESTION, sample_docs


def samples(client: httpx.Client) -> dict[tuple[str, frozenset], float]:
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_llm_retrieval_and_ingest_are_counted(api: str, fake_llm: FakeLLM) -> None:
    with httpx.Client(base_url=api, timeout=30) as c:
        assert c.post("/documents", json=sample_docs()).status_code == 200
        assert c.post("/ask", json={"question": QUESTION}).status_code == 200
        with c.stream("POST", "/ask", json={"question": QUESTION, "stream": True}) as reply:
            assert "event: done" in "".join(reply.iter_text())
        assert c.post("/search", json={"query": QUESTION}).status_code == 200
        assert c.get("/documents/no-such-id").status_code == 404
        assert c.get("/documents/nk-russia-weapons-2024").status_code == 200
        assert c.get("/nowhere").status_code == 404
        found = samples(c)

    def requests(method: str, route: str, status: str) -> float:
        return value(found, "qa_http_requests_total", method=method, route=route, status=status)

    assert requests("POST", "/ask", "200") == 2
    assert requests("POST", "/search", "200") == 1
    # the route template, never the raw path
    assert requests("GET", "/documents/{doc_id:path}", "404") == 1
    assert requests("GET", "/documents/{doc_id:path}", "200") == 1
    assert requests("GET", "/", "404") == 0 and requests("GET", "unmatched", "404") == 1
    latency = value(
        found,
        "qa_http_request_duration_seconds_count",
        method="POST",
        route="/ask",
        status="200",
    )
    assert latency == 2
    assert value(found, "qa_llm_call_duration_seconds_count") == 2
    assert value(found, "qa_llm_tokens_total", type="prompt") > 100
    assert value(found, "qa_llm_tokens_total", type="completion") > 5
    assert value(found, "qa_retrieval_duration_seconds_count") == 3
    assert value(found, "qa_llm_queue_waiting") == 0
    assert value(found, "qa_ingested_documents_total") == len(sample_docs())
