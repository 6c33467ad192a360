"""The real app over real HTTP: real embedder, embedded Chroma, the fake OpenAI-compatible LLM."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from index.chunk import count_tokens
from index.embed import MiniLMEmbedder
from qa.settings import Settings
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import free_port, serve_app, subprocess_server
from qa.web.app import create_app
from tests.utils.support import QUESTION, make_settings, sample_docs


@pytest.fixture
def client(sample_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sample_api, timeout=30) as c:
        yield c


def test_ingest_is_idempotent_over_http(api: str) -> None:
    with httpx.Client(base_url=api, timeout=30) as c:
        docs = sample_docs()
        first = c.post("/documents", json=docs).json()
        assert len(first["added"]) == len(docs) > 5 and first["chunks"] > len(docs)
        second = c.post("/documents", json=docs).json()
        assert len(second["unchanged"]) == len(docs)
        assert second["added"] == [] and second["chunks"] == 0
        listing = c.get("/documents").json()
        assert listing["total"] == len(docs)
        assert {d["id"] for d in listing["documents"]} >= {"nk-russia-weapons-2024"}


def test_ask_returns_cited_answer_with_offsets(client: httpx.Client, fake_llm: FakeLLM) -> None:
    reply = client.post("/ask", json={"question": QUESTION})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["grounded"] is True
    assert "240mm multiple rocket launchers" in body["answer"]
    citation = body["citations"][0]
    article = client.get(f"/documents/{citation['doc_id']}").json()
    assert article["text"][citation["start"] : citation["end"]] == citation["quote"]
    assert "170mm self-propelled howitzers" in citation["quote"]
    assert citation["title"] and citation["published"] == "2024-11-04"
    assert body["passages"][0]["n"] == 1 and len(body["passages"]) == 4
    assert body["model"] == "fake-model" and body["usage"]["prompt_tokens"] > 0
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert '<passage id="1" ' in prompt and QUESTION in prompt
    assert 'source="Sample News" published="2024-11-04"' in prompt


def test_unrelated_answer_is_refused(client: httpx.Client, fake_llm: FakeLLM) -> None:
    fake_llm.reply = "Germany won the 1998 World Cup [4]."
    body = client.post("/ask", json={"question": "Who won the 1998 World Cup?"}).json()
    assert body["grounded"] is False
    assert "do not answer" in body["answer"]
    assert body["citations"] == []


def test_out_of_range_marker_never_becomes_a_citation(
    client: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.reply = "Some 12,000 North Korean troops have been sent to Russia [7]."
    body = client.post("/ask", json={"question": "How many troops?", "top_k": 3}).json()
    assert all(c["n"] <= 3 for c in body["citations"])
    assert "[7]" not in body["answer"]


@pytest.mark.parametrize(
    ("payload", "status", "phrase"),
    [
        ({"question": "   "}, 422, "question must not be empty"),
        ({"question": "x" * 5000}, 413, "limit is 1000"),
        ({"question": "ok?", "top_k": 0}, 422, "top_k"),
        ({"question": "ok?", "top_k": 500}, 422, "top_k must be between 1 and 20"),
        ({"top_k": 3}, 422, "question: Field required"),
        ({"question": "ok?", "filters": {"published_after": "last week"}}, 422, "published_after"),
        ({"question": "ok?", "as_of": "yesterday"}, 422, "as_of"),
        (
            {
                "question": "ok?",
                "filters": {"published_after": "2024-12-01", "published_before": "2024-01-01"},
            },
            422,
            "published_after must not be later than published_before",
        ),
        ({"question": "ok?", "filters": {"metadata": {"bad key!": "x"}}}, 422, "metadata key"),
        (
            {"question": "ok?", "as_of": "2024-11-03", "filters": {"as_of": "2024-11-04"}},
            422,
            "as_of and filters.as_of name different days",
        ),
    ],
)
def test_bad_questions_get_clear_4xx(
    client: httpx.Client, payload: dict, status: int, phrase: str
) -> None:
    reply = client.post("/ask", json=payload)
    assert reply.status_code == status
    assert phrase in reply.json()["error"]["message"]


def test_malformed_document_batch_writes_nothing(client: httpx.Client) -> None:
    before = client.get("/documents").json()["total"]
    batch = [
        {"id": "fine", "title": "Fine", "text": "A valid article."},
        {"id": "broken", "text": "missing its title"},
    ]
    reply = client.post("/documents", json=batch)
    assert reply.status_code == 422
    assert "1.title" in reply.json()["error"]["message"]
    assert client.get("/documents").json()["total"] == before
    assert client.get("/documents/fine").status_code == 404
    bad_json = client.post(
        "/documents", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]["message"]


def test_delete_removes_document_and_passages(client: httpx.Client) -> None:
    assert client.delete("/documents/nk-russia-weapons-2024").status_code == 204
    assert client.get("/documents/nk-russia-weapons-2024").status_code == 404
    assert client.delete("/documents/nk-russia-weapons-2024").status_code == 404
    hits = client.post("/search", json={"query": "240mm rocket launchers", "top_k": 10}).json()
    assert hits["passages"] and all(
        p["doc_id"] != "nk-russia-weapons-2024" for p in hits["passages"]
    )


def test_search_takes_as_of_and_metadata_and_lists_wire_copies(client: httpx.Client) -> None:
    def search(**body: object) -> list[dict]:
        reply = client.post("/search", json={"query": "Paylark payments outage", **body})
        assert reply.status_code == 200, reply.text
        return reply.json()["passages"]

    story = search(top_k=10)
    top = story[0]
    assert top["doc_id"] == "paylark-outage-harborwire-2024"
    assert [r["source"] for r in top["also_reported_by"]] == ["Valley Times"]
    assert set(top["also_reported_by"][0]) == {"doc_id", "title", "source", "url", "published"}
    early = search(top_k=10, as_of="2024-09-30")
    assert early and all(p["published"] <= "2024-09-30" for p in early)
    sport = search(top_k=10, filters={"metadata": {"section": "sport"}})
    assert sport and {p["doc_id"] for p in sport} == {"tarrow-cup-final-2024"}


def test_search_and_health(client: httpx.Client) -> None:
    hits = client.post("/search", json={"query": QUESTION, "top_k": 2}).json()["passages"]
    assert len(hits) == 2 and hits[0]["doc_id"] == "nk-russia-weapons-2024"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"


def test_llm_error_is_502_with_passages(client: httpx.Client, fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error"
    reply = client.post("/ask", json={"question": QUESTION})
    assert reply.status_code == 502
    body = reply.json()
    assert body["error"]["type"] == "llm_error" and "500" in body["error"]["message"]
    assert body["passages"][0]["doc_id"] == "nk-russia-weapons-2024"


@pytest.fixture
def app_with(tmp_path: Path, embedder: MiniLMEmbedder, sample_data: Path):
    """Start the app over a copy of the ingested sample, with other settings."""

    def start(llm_url: str, **overrides: object):
        settings = make_settings(tmp_path, llm_url, **overrides)
        return serve_app(create_app(settings, embedder=embedder))

    return start


def test_unreachable_llm_is_502_and_not_ready(app_with) -> None:
    with (
        app_with(f"http://127.0.0.1:{free_port()}/v1") as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        reply = c.post("/ask", json={"question": QUESTION})
        assert reply.status_code == 502
        assert "cannot reach the LLM" in reply.json()["error"]["message"]
        assert reply.json()["passages"]
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["store"] == "ok"


def test_llm_timeout_is_504(
    app_with, fake_llm_server: tuple[FakeLLM, str], fake_llm: FakeLLM
) -> None:
    fake_llm.mode, fake_llm.delay_s = "slow", 3.0
    with (
        app_with(fake_llm_server[1], llm_timeout_s=0.5) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        reply = c.post("/ask", json={"question": QUESTION})
        assert reply.status_code == 504
        assert reply.json()["error"]["type"] == "llm_timeout" and reply.json()["passages"]


def test_oversized_body_is_413(app_with, fake_llm_server: tuple[FakeLLM, str]) -> None:
    with app_with(fake_llm_server[1], max_body_bytes=2048) as url:
        reply = httpx.post(f"{url}/documents", json={"title": "Big", "text": "x" * 5000})
        assert reply.status_code == 413
        assert reply.json()["error"]["type"] == "payload_too_large"


def test_chroma_server_mode_and_503_when_it_goes_away(
    tmp_path: Path, embedder: MiniLMEmbedder, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    import shutil
    import sys

    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    cmd = [
        chroma,
        "run",
        "--path",
        str(tmp_path / "srv"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    chroma_url = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, fake_llm_server[1], chroma_url=chroma_url)
    server = subprocess_server(cmd, f"{chroma_url}/api/v2/heartbeat", 60, tmp_path / "chroma.log")
    server.__enter__()
    try:
        with (
            serve_app(create_app(settings, embedder=embedder)) as url,
            httpx.Client(base_url=url, timeout=30) as c,
        ):
            assert c.post("/documents", json=sample_docs()).status_code == 200
            assert not (tmp_path / "data" / "chroma").exists()  # nothing went to the embedded store
            hits = c.post("/search", json={"query": QUESTION}).json()["passages"]
            assert hits[0]["doc_id"] == "nk-russia-weapons-2024"
            server.__exit__(None, None, None)
            down = c.post("/search", json={"query": QUESTION})
            assert down.status_code == 503 and down.json()["error"]["type"] == "store_unavailable"
            assert c.get("/readyz").status_code == 503
    finally:
        server.__exit__(None, None, None)


def ask(client: httpx.Client) -> httpx.Response:
    return client.post("/ask", json={"question": QUESTION})


@pytest.fixture
def trimmed_api(
    sample_data: Path, settings: Settings, embedder: MiniLMEmbedder
) -> Iterator[httpx.Client]:
    """The sample corpus served with passages trimmed to 200 tokens."""
    trimmed = settings.model_copy(update={"passage_budget": 200})
    with (
        serve_app(create_app(trimmed, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        yield c


def test_ask_sends_the_model_trimmed_passages_with_exact_offsets(
    trimmed_api: httpx.Client, fake_llm: FakeLLM
) -> None:
    c = trimmed_api
    body = ask(c).json()
    articles = {p["doc_id"]: c.get(f"/documents/{p['doc_id']}").json() for p in body["passages"]}
    assert body["grounded"] is True and "240mm" in body["answer"]
    assert "trim" in body["timings_ms"]
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert sum(count_tokens(p["text"]) for p in body["passages"]) <= 200
    for p in body["passages"]:
        assert articles[p["doc_id"]]["text"][p["start"] : p["end"]] == p["text"]
        assert f"\n{p['text']}\n</passage>" in prompt
    assert prompt.count("<passage id=") == len(body["passages"])
    [citation] = body["citations"]
    text = articles[citation["doc_id"]]["text"]
    assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_two_users_asking_at_once_both_get_trimmed_cited_answers(
    trimmed_api: httpx.Client, fake_llm: FakeLLM
) -> None:
    with ThreadPoolExecutor(2) as pool:
        bodies = [r.json() for r in pool.map(lambda _: ask(trimmed_api), "ab")]
    first, second = bodies
    assert first["grounded"] and second["grounded"] and "240mm" in first["answer"]
    assert first["passages"] == second["passages"] and first["citations"] == second["citations"]
