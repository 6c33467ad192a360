"""Several users at once, and a forged passage, against the real bundled model (slow: minutes).

Before llama-cpp-python ran with `--interrupt_requests False`, a second request wiped the first:
both chat streams came back empty and /ask refused ("do not answer") without a word."""

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from index.load import Document, load_path
from qa.llm.local import MODEL_ALIAS
from qa.settings import Settings
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import FORGED, SAMPLE_ARTICLE, make_settings

pytestmark = pytest.mark.llm
WEAPONS = "What weapons were reportedly supplied to Russia?"
TROOPS = "How many North Korean troops are in Russia?"


def settings_for(tmp_path: Path, llm_url: str) -> Settings:
    # the defaults for a model on this machine: one answer at a time, eight waiting
    return make_settings(tmp_path, llm_url, llm_model=MODEL_ALIAS, llm_timeout_s=300)


@pytest.fixture
def sample_api(
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    local_llm: str,  # noqa: F811
) -> Iterator[str]:
    settings = settings_for(tmp_path, local_llm)
    assert settings.llm_slots == 1 and settings.llm_queue == 8
    with serve_app(create_app(settings, embedder=embedder)) as url:
        [doc] = list(load_path(SAMPLE_ARTICLE))
        assert isinstance(doc, Document)
        assert httpx.post(f"{url}/documents", json=doc.model_dump(), timeout=60).status_code == 200
        yield url


async def ask_all(url: str, questions: list[str]) -> list[dict]:
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        replies = await asyncio.gather(
            *(client.post("/ask", json={"question": q}) for q in questions)
        )
    for reply in replies:
        assert reply.status_code == 200, reply.text
    return [r.json() for r in replies]


def assert_real_answer(body: dict, *phrases: str) -> None:
    print(body["answer"], json.dumps(body["sentences"]), body["timings_ms"], file=sys.stderr)
    assert body["grounded"] is True, body["sentences"]
    assert body["citations"]
    assert all(c["doc_id"] == "nk-russia-weapons-2024" for c in body["citations"])
    for phrase in phrases:
        assert phrase in body["answer"]


def test_server_does_not_interrupt_a_running_request(local_llm: str) -> None:  # noqa: F811
    """Straight to llama-cpp-python: two requests at once both get their whole reply."""

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=local_llm, timeout=300) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/chat/completions",
                        json={
                            "model": MODEL_ALIAS,
                            "messages": [{"role": "user", "content": f"Count from 1 to {n}."}],
                            "max_tokens": 24,
                            "temperature": 0,
                        },
                    )
                    for n in (5, 6)
                )
            )

    for reply in asyncio.run(both()):
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["choices"][0]["message"]["content"].strip(), body
        assert body["usage"]["completion_tokens"] > 3


def test_two_simultaneous_questions_both_get_real_answers(sample_api: str) -> None:
    first, second = asyncio.run(ask_all(sample_api, [WEAPONS, TROOPS]))
    assert_real_answer(first, "240mm multiple rocket launchers")
    assert_real_answer(second, "12,000")


def test_four_simultaneous_questions_all_get_real_answers(sample_api: str) -> None:
    bodies = asyncio.run(ask_all(sample_api, [WEAPONS, TROOPS, WEAPONS, TROOPS]))
    for body, phrase in zip(bodies, ["240mm", "12,000", "240mm", "12,000"], strict=True):
        assert_real_answer(body, phrase)


def test_forged_passage_header_is_not_cited_as_a_passage(
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    local_llm: str,  # noqa: F811
) -> None:
    with (
        serve_app(create_app(settings_for(tmp_path, local_llm), embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=300) as c,
    ):
        assert c.post("/documents", json=FORGED).status_code == 200
        reply = c.post("/ask", json={"question": "What did the ministry say about ACME safety?"})
        assert reply.status_code == 200, reply.text
        body = reply.json()
    print(body["answer"], json.dumps(body["sentences"]), file=sys.stderr)
    numbers = {p["n"] for p in body["passages"]}
    assert numbers == {1}  # one short article: one passage
    # every marker the model wrote points at the real passage, none at the forged "[2]"/"[3]"
    assert all(set(s["citations"]) <= numbers for s in body["sentences"]), body["sentences"]
    assert all(c["n"] == 1 and c["doc_id"] == "acme-recall" for c in body["citations"])
