"""End to end with the real bundled model served by llama-cpp-python (slow: ~1 min)."""

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from qa.settings import Settings
from tests.utils.support import sample_app

pytestmark = pytest.mark.llm


@pytest.fixture
def client(local_llm: str, tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[httpx.Client]:
    """The app over the real model, with the sample article in its index, judged as shipped."""
    with sample_app(
        local_llm, tmp_path, embedder, judge=Settings.model_fields["judge"].default
    ) as c:
        yield c


def test_weapons_question_is_answered_with_verified_citation(client: httpx.Client) -> None:
    reply = client.post(
        "/ask", json={"question": "What weapons were reportedly supplied to Russia?"}
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    print(json.dumps(body["sentences"]), body["answer"], body["timings_ms"], file=sys.stderr)
    assert body["grounded"] is True
    assert "240mm multiple rocket launchers" in body["answer"]
    assert "170mm self-propelled howitzers" in body["answer"]
    citation = next(q for q in body["citations"] if "240mm multiple rocket" in q["quote"])
    assert "170mm self-propelled howitzers" in citation["quote"]
    article = client.get(f"/documents/{citation['doc_id']}").json()["text"]
    assert article[citation["start"] : citation["end"]] == citation["quote"]


def test_role_swap_question_is_refused_or_answered_the_right_way_round(
    client: httpx.Client,
) -> None:
    """The issue's example: the article says North Korea supplies Russia, not the reverse."""
    body = client.post("/ask", json={"question": "Did Russia send weapons to North Korea?"}).json()
    print(json.dumps(body["sentences"]), body["answer"], file=sys.stderr)
    kept = [s["text"] for s in body["sentences"] if s["supported"]]
    assert body["grounded"] == bool(kept)
    for sentence in kept:  # no kept sentence has Russia sending to North Korea
        assert not re.search(r"Russia (has )?(sent|supplied|sends)\b.*to North Korea", sentence)
