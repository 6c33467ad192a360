"""SSE on /ask and the OpenAI-compatible endpoints, over real HTTP with the real `openai` client."""

from collections.abc import Iterator

import httpx
import openai
import pytest

from qa.testing.llm_server import FakeLLM
from tests.utils.support import QUESTION, read_sse


@pytest.fixture
def client(sample_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sample_api, timeout=30) as c:
        yield c


def test_sse_event_order_and_content(client: httpx.Client, fake_llm: FakeLLM) -> None:
    events = read_sse(client, {"question": QUESTION, "stream": True})
    names = [e for e, _ in events]
    assert names[0] == "sources" and names[-1] == "done"
    assert names.count("delta") > 3 and "citation" in names
    assert names.index("citation") > names.index("delta")
    sources = events[0][1]
    assert sources["passages"][0]["doc_id"] == "nk-russia-weapons-2024"
    streamed = "".join(d["text"] for e, d in events if e == "delta")
    assert "240mm multiple rocket launchers" in streamed
    citation = next(d for e, d in events if e == "citation")
    assert "240mm" in citation["quote"] and citation["end"] > citation["start"]
    done = events[-1][1]
    assert done["grounded"] and done["citations"][0]["quote"] == citation["quote"]


def test_accept_header_selects_streaming(client: httpx.Client) -> None:
    events = read_sse(client, {"question": QUESTION}, {"accept": "text/event-stream"})
    assert events[0][0] == "sources" and events[-1][0] == "done"


def test_llm_failure_mid_stream_ends_with_error_event(
    client: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.mode = "fail_midstream"
    events = read_sse(client, {"question": QUESTION, "stream": True})
    names = [e for e, _ in events]
    assert names[0] == "sources" and "delta" in names
    assert names[-1] == "error" and "done" not in names
    error = events[-1][1]
    assert error["error"]["type"] == "llm_error" and error["passages"]


def test_follow_up_is_condensed_before_retrieval(client: httpx.Client, fake_llm: FakeLLM) -> None:
    fake_llm.quote = "12,000"
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "240mm multiple rocket launchers [1]."},
    ]
    body = client.post(
        "/ask", json={"question": "And how many troops were sent?", "history": history}
    ).json()
    condense_prompt = fake_llm.requests[0]["messages"][-1]["content"]
    assert "Standalone question:" in condense_prompt and QUESTION in condense_prompt
    assert body["condensed_question"] == "And how many troops were sent?"  # the fake echoes it
    assert "12,000" in body["answer"]


def test_openai_client_non_streaming(sample_api: str) -> None:
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    assert [m.id for m in oa.models.list()] == ["newsqa"]
    reply = oa.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "240mm multiple rocket launchers" in (reply.choices[0].message.content or "")
    extra = reply.model_extra or {}
    assert extra["grounded"] is True
    assert "170mm self-propelled howitzers" in extra["citations"][0]["quote"]
    # as of a day before the article, it is not there to answer from
    before = oa.chat.completions.create(
        model="newsqa",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"as_of": "2024-11-03"},
    )
    assert (before.model_extra or {})["grounded"] is False
    assert "240mm" not in (before.choices[0].message.content or "")


def test_openai_client_streaming(sample_api: str) -> None:
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    stream = oa.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "240mm multiple rocket launchers" in text and "[1]" in text
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert (final.model_extra or {})["citations"][0]["n"] == 1


def test_openai_client_unsupported_answer_streams_refusal(
    sample_api: str, fake_llm: FakeLLM
) -> None:
    fake_llm.reply = "Germany won the 1998 World Cup [4]. It was a great final [2]."
    oa = openai.OpenAI(base_url=f"{sample_api}/v1", api_key="unused")
    chunks = list(
        oa.chat.completions.create(
            model="newsqa", messages=[{"role": "user", "content": "Who won in 1998?"}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Germany" not in text and "do not answer" in text
    assert (chunks[-1].model_extra or {})["grounded"] is False


def test_chat_completions_rejects_assistant_last(client: httpx.Client) -> None:
    reply = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}
    )
    assert reply.status_code == 422 and "last message" in reply.json()["error"]["message"]


def test_client_disconnect_cancels_the_llm_request(client: httpx.Client, fake_llm: FakeLLM) -> None:
    import time

    fake_llm.delay_s = 20.0  # the fake streams its reply slowly
    with client.stream("POST", "/ask", json={"question": QUESTION, "stream": True}) as reply:
        for line in reply.iter_lines():
            if line.startswith("event: delta"):
                break  # the user closes the tab after the first piece
    deadline = time.monotonic() + 10
    while fake_llm.cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fake_llm.cancelled == 1


def test_condense_failure_is_502_not_500(client: httpx.Client, fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error"
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "Rockets."}]
    reply = client.post("/ask", json={"question": "And troops?", "history": history})
    assert reply.status_code == 502 and reply.json()["error"]["type"] == "llm_error"
