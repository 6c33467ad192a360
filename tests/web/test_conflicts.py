"""/ask, its SSE `done` event and /v1 return the figures the articles disagree on, and each
sentence's sources and dates (the real app over HTTP, real embedder, the fake LLM server)."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from qa.testing.llm_server import FakeLLM
from tests.utils.news import TROOP_REPORTS as ARTICLES
from tests.utils.support import read_sse

QUESTION = "How many North Korean troops are in Russia?"


def claims(conflicts: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((c["value"], c["source"], c["published"]) for c in conflicts[0]["claims"])


def test_ask_returns_conflicts_and_dated_sentences(api: str, fake_llm: FakeLLM) -> None:
    fake_llm.quote = "12,000"  # the fake answers with the NBC sentence only
    with httpx.Client(base_url=api, timeout=60) as c:
        assert c.post("/documents", json=ARTICLES).status_code == 200
        answer = c.post("/ask", json={"question": QUESTION}).json()
        events = read_sse(c, {"question": QUESTION, "stream": True})
    [conflict] = answer["conflicts"]
    assert claims(answer["conflicts"]) == [
        ("10,000", "Reuters", "2024-11-05"),
        ("Some 12,000", "NBC", "2024-11-04"),
    ]
    assert conflict["reported"] is False  # the model's answer gave one side only
    # ... so the service states both, as the answer's last sentence, citing each side
    sentence, stated = answer["sentences"]
    assert answer["answer"].endswith(conflict["stated"])
    assert stated["text"].startswith("Reports differ on") and "[" not in stated["text"]
    assert {a["source"] for a in stated["sources"]} == {"NBC", "Reuters"}
    assert sentence["sources"] == [
        {"n": sentence["citations"][0], "source": "NBC", "published": "2024-11-04"}
    ]
    prompt = fake_llm.requests[0]["messages"][-1]["content"]
    assert "Note: these passages give different figures" in prompt
    done = next(d for e, d in events if e == "done")
    assert claims(done["conflicts"]) == claims(answer["conflicts"])
    streamed = next(d for e, d in events if e == "sentence")
    assert streamed["sources"] == sentence["sources"]


def test_v1_carries_conflicts_as_an_extension_field(api: str, fake_llm: FakeLLM) -> None:
    fake_llm.quote = "12,000"
    assert httpx.post(f"{api}/documents", json=ARTICLES, timeout=60).status_code == 200
    client = openai.OpenAI(base_url=f"{api}/v1", api_key="unused")
    reply = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    extra: Any = reply.model_extra
    assert claims(extra["conflicts"])[0] == ("10,000", "Reuters", "2024-11-05")


def test_a_latest_question_is_dated_over_http(api: str, fake_llm: FakeLLM) -> None:
    fake_llm.quote = "10,000"
    with httpx.Client(base_url=api, timeout=60) as c:
        assert c.post("/documents", json=ARTICLES).status_code == 200
        body = {
            "question": "How many North Korean troops are in Russia now?",
            "as_of": "2024-12-20",
        }
        answer = c.post("/ask", json=body).json()
    assert answer["answer"].startswith("As of 2024-11-05, North Korea has sent 10,000 troops")
    assert answer["answer"].endswith("45 days before 2024-12-20.")
    assert answer["as_of"] == "2024-11-05"
