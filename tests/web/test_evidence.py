"""Evidence first and extractive answers on every surface, over real HTTP: the real embedder,
Chroma and the real ONNX cross-encoder; the LLM is the fake server, or a stand-in that fails the
test if it is called at all."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import openai
import pytest

from index.embed import Embedder
from qa.testing.fakes import ScriptedLLM
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import free_port, serve_app
from qa.web.app import create_app
from tests.utils.support import QUESTION, make_settings, read_sse

WEAPONS = "240mm multiple rocket launchers"
DOC = "nk-russia-weapons-2024"

Start = Callable[..., AbstractContextManager[str]]


@pytest.fixture
def client(sample_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sample_api, timeout=30) as c:
        yield c


@pytest.fixture
def no_llm() -> ScriptedLLM:
    """An LLM with no reply: any call fails the request (and the test)."""
    return ScriptedLLM(replies=())


@pytest.fixture
def start(
    tmp_path: Path, sample_data: Path, embedder: Embedder, fake_llm_server: tuple[FakeLLM, str]
) -> Start:
    """The app over a copy of the ingested sample, with these settings (and LLM, if given)."""

    def run(llm: ScriptedLLM | None = None, **overrides: object) -> AbstractContextManager[str]:
        settings = make_settings(tmp_path, fake_llm_server[1], **overrides)
        return serve_app(create_app(settings, llm=llm, embedder=embedder))

    return run


def article_text(client: httpx.Client, doc_id: str) -> str:
    return str(client.get(f"/documents/{doc_id}").json()["text"])


def test_sse_sends_evidence_after_sources_before_the_answer(client: httpx.Client) -> None:
    events = read_sse(client, {"question": QUESTION, "stream": True})
    names = [e for e, _ in events]
    assert names[:2] == ["sources", "evidence"] and names.count("evidence") == 1
    assert names[2] in ("delta", "sentence") and names[-1] == "done"
    quotes = events[1][1]["quotes"]
    assert 1 <= len(quotes) <= 2
    best = quotes[0]
    assert WEAPONS in best["quote"] and best["doc_id"] == DOC
    assert article_text(client, DOC)[best["start"] : best["end"]] == best["quote"]
    passages = {p["n"]: p for p in events[0][1]["passages"]}
    assert best["quote"] in passages[best["n"]]["text"]  # n names the passage it is in
    assert {"title", "source", "published", "score"} <= best.keys()
    assert events[-1][1]["evidence"] == quotes  # the answer carries it too


def test_ask_json_carries_evidence(client: httpx.Client) -> None:
    body = client.post("/ask", json={"question": QUESTION}).json()
    assert body["mode"] == "generative" and body["fallback"] is None
    assert WEAPONS in body["evidence"][0]["quote"]
    assert body["timings_ms"]["evidence"] > 0


def test_evidence_off_sends_no_evidence_event(start: Start) -> None:
    with start(evidence="off") as url, httpx.Client(base_url=url, timeout=30) as c:
        events = read_sse(c, {"question": QUESTION, "stream": True})
        assert "evidence" not in [e for e, _ in events] and events[-1][1]["evidence"] == []
        reply = c.post("/ask", json={"question": QUESTION, "mode": "extractive"})
        assert reply.status_code == 422 and "QA_EVIDENCE" in reply.json()["error"]["message"]


def test_v1_stream_first_chunk_carries_evidence(sample_api: str) -> None:
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    chunks = list(
        oa.chat.completions.create(
            model="newsqa", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    evidence = (first.model_extra or {})["evidence"]
    assert WEAPONS in evidence[0]["quote"] and evidence[0]["n"] >= 1
    assert all("evidence" not in (c.model_extra or {}) for c in chunks[1:-1])
    assert (chunks[-1].model_extra or {})["evidence"] == evidence


def test_v1_non_stream_carries_evidence(sample_api: str) -> None:
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    reply = oa.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    extra = reply.model_extra or {}
    assert WEAPONS in extra["evidence"][0]["quote"] and extra["mode"] == "generative"


def test_extractive_mode_answers_with_quotes_and_no_llm_call(
    start: Start, no_llm: ScriptedLLM
) -> None:
    history = [  # a follow-up is not condensed either: that would be an LLM call
        {"role": "user", "content": "Who sent troops?"},
        {"role": "assistant", "content": "North Korea [1]."},
    ]
    with start(llm=no_llm) as url, httpx.Client(base_url=url, timeout=30) as c:
        body = c.post(
            "/ask", json={"question": QUESTION, "mode": "extractive", "history": history}
        ).json()
        article = article_text(c, DOC)
        streamed = read_sse(c, {"question": QUESTION, "stream": True, "mode": "extractive"})
    assert no_llm.calls == []
    assert body["mode"] == "extractive" and body["fallback"] is None and body["grounded"]
    assert (
        body["answer"].startswith(body["evidence"][0]["quote"].rstrip("."))
        and "[" in body["answer"]
    )
    assert WEAPONS in body["answer"]
    for sentence, quote in zip(body["sentences"], body["evidence"], strict=True):
        assert sentence["text"] == quote["quote"] and sentence["supported"]
        assert sentence["citations"] == [quote["n"]]
    for citation in body["citations"]:
        assert article[citation["start"] : citation["end"]] == citation["quote"]
    assert [e for e, _ in streamed] == ["sources", "evidence", "done"]
    assert streamed[-1][1]["answer"] == body["answer"]


def test_extractive_deployment_and_v1_extra_body(start: Start, no_llm: ScriptedLLM) -> None:
    # QA_ANSWER_MODE=extractive: a deployment without an LLM; /ask needs no mode field
    with start(llm=no_llm, answer_mode="extractive") as url:
        with httpx.Client(base_url=url, timeout=30) as c:
            body = c.post("/ask", json={"question": QUESTION}).json()
        assert body["mode"] == "extractive" and WEAPONS in body["answer"]
        oa = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        reply = oa.chat.completions.create(
            model="newsqa", messages=[{"role": "user", "content": QUESTION}]
        )
        assert WEAPONS in (reply.choices[0].message.content or "")
        assert (reply.model_extra or {})["mode"] == "extractive"
    assert no_llm.calls == []


def test_extractive_deployment_is_ready_without_an_llm(start: Start) -> None:
    with start(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", answer_mode="extractive") as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        answer = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=30)
    assert ready.status_code == 200 and ready.json()["checks"]["store"] == "ok"
    assert ready.json()["checks"]["llm"].startswith("not used")
    assert answer.status_code == 200 and WEAPONS in answer.json()["answer"]


def test_v1_extractive_via_extra_body(sample_api: str, fake_llm: FakeLLM) -> None:
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    chunks = list(
        oa.chat.completions.create(
            model="newsqa",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            extra_body={"mode": "extractive"},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert WEAPONS in text and (chunks[-1].model_extra or {})["mode"] == "extractive"
    assert fake_llm.requests == []


def test_llm_failure_stays_502_and_carries_the_extractive_answer(
    client: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.mode = "error"
    reply = client.post("/ask", json={"question": QUESTION})
    assert reply.status_code == 502
    body = reply.json()
    assert body["error"]["type"] == "llm_error" and body["passages"]
    assert body["mode"] == "extractive" and body["fallback"] == "llm_unavailable"
    assert WEAPONS in body["answer"] and body["citations"][0]["quote"] in body["answer"]


def test_llm_failure_mid_stream_error_event_carries_the_extractive_answer(
    client: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.mode = "fail_midstream"
    events = read_sse(client, {"question": QUESTION, "stream": True})
    names = [e for e, _ in events]
    assert names[:2] == ["sources", "evidence"] and names[-1] == "error"
    error = events[-1][1]
    assert error["status"] == 502 and error["fallback"] == "llm_unavailable"
    assert error["answer"].startswith(events[1][1]["quotes"][0]["quote"].rstrip("."))


def test_v1_stream_llm_failure_ends_with_the_quotes(sample_api: str, fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error"
    with httpx.stream(
        "POST",
        f"{sample_api}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "stream": True},
        timeout=30,
    ) as reply:
        data = [line[5:].strip() for line in reply.iter_lines() if line.startswith("data:")]
    assert data[-1] == "[DONE]"
    payloads = [json.loads(d) for d in data[:-1]]
    answer = next(p for p in payloads if p.get("fallback") and p.get("choices"))
    assert WEAPONS in answer["choices"][0]["delta"]["content"]
    assert answer["choices"][0]["finish_reason"] == "stop" and answer["mode"] == "extractive"
    assert payloads[-1]["error"]["type"] == "llm_error"
