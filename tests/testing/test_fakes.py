"""The in-process stand-ins of `qa.testing.fakes`, alone and driving the real app in process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import pytest

from qa.llm.base import Completion, LLMError, Message
from qa.settings import Settings
from qa.testing.fakes import CachingEmbedder, HashingEmbedder, Reply, ScriptedLLM, pieces
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import sample_docs

WEAPONS = "North Korea supplied 240mm multiple rocket launchers and 170mm self-propelled howitzers"


async def _collect(stream: AsyncIterator[Completion]) -> list[str]:
    return [piece.text async for piece in stream if piece.text]


def test_scripted_llm_replies_in_order_and_streams_small_pieces() -> None:
    llm = ScriptedLLM(["First [1].", Reply("Second [1][2].", model="other", usage={"x": 1})])
    first = asyncio.run(llm.complete([{"role": "user", "content": "one two"}], 64))
    assert (first.text, first.model) == ("First [1].", "scripted-model")
    assert first.usage == {"prompt_tokens": 2, "completion_tokens": 5}
    streamed = asyncio.run(_collect(llm.stream([{"role": "user", "content": "again"}], 64)))
    assert "".join(streamed) == "Second [1][2]." and streamed[:4] == ["Second", " [", "1", "]"]
    assert [m[0]["content"] for m in llm.calls] == ["one two", "again"]
    with pytest.raises(AssertionError, match="no reply left for call 3"):
        asyncio.run(llm.complete([], 64))


def test_scripted_llm_takes_a_function_and_fails_where_told() -> None:
    def reply(messages: list[Message]) -> str | Reply | Exception:
        content = messages[-1]["content"]
        if "boom" in content:
            return LLMError("model exploded")
        if "cut" in content:
            return Reply("Half a sentence", error=LLMError("connection dropped"))
        return content.upper()

    llm = ScriptedLLM(reply)
    assert asyncio.run(llm.complete([{"role": "user", "content": "hi"}], 8)).text == "HI"
    with pytest.raises(LLMError, match="exploded"):
        asyncio.run(llm.complete([{"role": "user", "content": "boom"}], 8))
    got: list[str] = []

    async def read() -> None:
        async for piece in llm.stream([{"role": "user", "content": "cut"}], 8):
            got.append(piece.text)

    with pytest.raises(LLMError, match="dropped"):
        asyncio.run(read())
    assert "".join(got) == "Half a sentence", "the text comes before the failure"
    assert pieces("a [12], b.") == ["a", " [", "12", "]", ",", " b", "."]


def test_hashing_embedder_is_deterministic_normalised_and_lexical() -> None:
    texts = ["rocket launchers sent", "launchers and rockets sent", "marathon", ""]
    vectors = HashingEmbedder().embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, HashingEmbedder().embed(texts)), "the same in every instance"
    assert vectors[0] @ vectors[1] > 0.4 > abs(float(vectors[0] @ vectors[2]))


def test_caching_embedder_gives_the_inner_vectors_embedding_each_text_once() -> None:
    class Counting(HashingEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        def embed(self, texts: list[str]) -> np.ndarray:
            self.texts += texts
            return super().embed(texts)

    inner = Counting()
    cached = CachingEmbedder(inner)
    first = cached.embed(["a b", "c", "a b"])
    again = cached.embed(["c", "d", "a b"])
    assert inner.texts == ["a b", "c", "d"]
    assert np.array_equal(first, HashingEmbedder().embed(["a b", "c", "a b"]))
    assert np.array_equal(again, HashingEmbedder().embed(["c", "d", "a b"]))
    assert cached.embed([]).shape == (0, 384)


@pytest.fixture
def inprocess(
    settings: Settings, hashing_embedder: HashingEmbedder
) -> Iterator[tuple[ScriptedLLM, httpx.Client]]:
    """The real app (embedded Chroma, real HTTP) with both stand-ins: no model is loaded."""
    llm = ScriptedLLM(lambda messages: f"{WEAPONS} [1].")
    app = create_app(settings, llm=llm, embedder=hashing_embedder)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/documents", json=sample_docs()).status_code == 200
        yield llm, client


def test_the_app_answers_in_process_with_the_stand_ins(
    inprocess: tuple[ScriptedLLM, httpx.Client],
) -> None:
    llm, client = inprocess
    body = client.post("/ask", json={"question": "240mm rocket launchers"}).json()
    assert body["model"] == "scripted-model" and body["usage"]["completion_tokens"] > 10
    assert [p["doc_id"] for p in body["passages"]][0] == "nk-russia-weapons-2024"
    assert body["grounded"] is True and "170mm" in body["citations"][0]["quote"]
    prompt = llm.calls[-1][-1]["content"]
    assert "240mm rocket launchers" in prompt and '<passage id="1"' in prompt


def test_a_stream_cut_by_the_scripted_llm_ends_with_an_error_event(
    inprocess: tuple[ScriptedLLM, httpx.Client],
) -> None:
    llm, client = inprocess
    llm.replies = [Reply(f"{WEAPONS} [1", error=LLMError("connection dropped"))]
    body = {"question": "240mm rocket launchers", "stream": True}
    with client.stream("POST", "/ask", json=body) as reply:
        lines = list(reply.iter_lines())
    events = [line.split(":", 1)[1].strip() for line in lines if line.startswith("event:")]
    assert events[0] == "sources" and events.count("delta") > 10
    assert events[-1] == "error" and "done" not in events
    error = json.loads(lines[[i for i, x in enumerate(lines) if x == "event: error"][0] + 1][5:])
    assert "connection dropped" in error["error"]["message"] and len(llm.calls) == 1
