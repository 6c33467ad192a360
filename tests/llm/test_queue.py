"""The bounded LLM queue over real HTTP: one question runs, one waits, the next gets 503 +
Retry-After at once (the fake LLM answers slowly; no timing is asserted)."""

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import QUESTION, make_settings, sample_docs, wait_until


def gauge(client: httpx.Client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def queued_api(
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    fake_llm_server: tuple[FakeLLM, str],
    fake_llm: FakeLLM,
) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path, fake_llm_server[1], llm_concurrency=1, llm_queue=1)
    with (
        serve_app(create_app(settings, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        assert client.post("/documents", json=sample_docs()).status_code == 200
        yield client


def test_queue_full_is_503_with_retry_after(queued_api: httpx.Client, fake_llm: FakeLLM) -> None:
    fake_llm.mode, fake_llm.delay_s = "slow", 3.0
    replies: dict[str, httpx.Response] = {}

    def ask(name: str) -> None:
        with httpx.Client(base_url=str(queued_api.base_url), timeout=60) as own:
            replies[name] = own.post("/ask", json={"question": QUESTION})

    first = threading.Thread(target=ask, args=("running",))
    first.start()
    wait_until(lambda: len(fake_llm.requests) == 1, "the first question to reach the LLM")
    second = threading.Thread(target=ask, args=("waiting",))
    second.start()
    wait_until(lambda: gauge(queued_api, "qa_llm_queue_waiting") == 1, "a waiting question")

    refused = queued_api.post("/ask", json={"question": QUESTION})
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "llm_busy"
    assert int(refused.headers["retry-after"]) >= 1
    streamed = queued_api.post("/ask", json={"question": QUESTION, "stream": True})
    assert streamed.status_code == 503  # refused before the stream starts, not as a 200
    assert streamed.headers["content-type"].startswith("application/json")
    chat = queued_api.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}
    )
    assert chat.status_code == 503 and "retry-after" in chat.headers

    first.join(30)
    second.join(30)
    for name in ("running", "waiting"):
        assert replies[name].status_code == 200, replies[name].text
        assert "240mm" in replies[name].json()["answer"]
    assert len(fake_llm.requests) == 2  # the refused ones never reached the LLM
    metrics = queued_api.get("/metrics").text
    assert "qa_llm_queue_rejected_total 3.0" in metrics
    assert gauge(queued_api, "qa_llm_queue_waiting") == 0
    assert gauge(queued_api, "qa_llm_queue_running") == 0


def test_answers_are_run_one_at_a_time(queued_api: httpx.Client, fake_llm: FakeLLM) -> None:
    """Concurrency 1: the LLM never sees two requests at once, whatever the clients do."""
    fake_llm.mode, fake_llm.delay_s = "slow", 0.5
    replies: list[int] = []

    def ask() -> None:
        with httpx.Client(base_url=str(queued_api.base_url), timeout=60) as own:
            replies.append(own.post("/ask", json={"question": QUESTION}).status_code)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert replies == [200, 200]
    assert fake_llm.most_in_flight == 1 and len(fake_llm.requests) == 2
