"""/ask, its SSE stream and /v1 chat completions (streamed or not) give the same checked answer:
they only format the service's one event stream. Also POST /check and `qa check`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from index.embed import MiniLMEmbedder
from index.load import Document, load_path
from qa.settings import DEFAULT_SUPPORT_THRESHOLD
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import ROOT, SAMPLE_ARTICLE, make_settings, read_sse

QUESTION = "What weapons were reportedly supplied to Russia?"
THRESHOLD = DEFAULT_SUPPORT_THRESHOLD


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm_server: tuple[FakeLLM, str],
    embedder: MiniLMEmbedder,
) -> Iterator[tuple[str, dict[str, int]]]:
    """The app with the sample article; yields its URL and which passage holds which fact."""
    settings = make_settings(tmp_path_factory.mktemp("paths"), fake_llm_server[1])
    with serve_app(create_app(settings, embedder=embedder)) as url:
        [doc] = [d for d in load_path(SAMPLE_ARTICLE) if isinstance(d, Document)]
        assert httpx.post(f"{url}/documents", json=doc.model_dump(), timeout=60).status_code == 200
        passages = httpx.post(f"{url}/search", json={"query": QUESTION}, timeout=60).json()
        find = {"weapons": "240mm", "troops": "12,000"}
        numbers = {
            key: next(p["n"] for p in passages["passages"] if needle in p["text"])
            for key, needle in find.items()
        }
        yield url, numbers


def surfaces(url: str) -> dict[str, Any]:
    """The same question through /ask, /ask SSE, /v1 (whole) and /v1 (streamed)."""
    with httpx.Client(base_url=url, timeout=60) as c:
        whole = c.post("/ask", json={"question": QUESTION}).json()
        events = read_sse(c, {"question": QUESTION, "stream": True})
    oa = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    messages: Any = [{"role": "user", "content": QUESTION}]
    v1 = oa.chat.completions.create(model="newsqa", messages=messages)
    chunks = list(oa.chat.completions.create(model="newsqa", messages=messages, stream=True))
    return {
        "ask": whole,
        "sse_done": next(d for e, d in events if e == "done"),
        "sse_sentences": [d for e, d in events if e == "sentence"],
        "v1": v1.choices[0].message.content,
        "v1_stream": "".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
        "v1_final": chunks[-1],
    }


SCRIPTS = {
    # the reproduced bug: markers after the full stop, then a second sentence
    "markers_after_stop": "North Korea supplied 240mm multiple rocket launchers and 170mm "
    "self-propelled howitzers. [{weapons}][{troops}] About 12,000 North Korean troops were sent "
    "to Russia [{troops}].",
    "markers_before_stop": "The North supplied 170mm self-propelled howitzers [{weapons}]. Some "
    "12,000 North Korean troops have been sent to Russia [{troops}].",
    "list": "- 240mm multiple rocket launchers [{weapons}]\n- 170mm self-propelled howitzers [{weapons}]",
    "stops_mid_sentence": "North Korea supplied 240mm multiple rocket launchers [{weapons}]. Some "
    "12,000 North Korean troops were",
    "one_unsupported": "North Korea supplied 240mm multiple rocket launchers [{weapons}]. France "
    "sent 300 fighter jets to Pyongyang [{weapons}].",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_surface_gives_the_same_checked_answer(
    service: tuple[str, dict[str, int]], fake_llm_server: tuple[FakeLLM, str], script: str
) -> None:
    url, numbers = service
    fake, _ = fake_llm_server
    fake.reset()
    fake.reply = SCRIPTS[script].format(**numbers)
    seen = surfaces(url)
    ask = seen["ask"]
    assert ask["grounded"] is True
    assert seen["sse_done"]["answer"] == ask["answer"] == seen["v1"] == seen["v1_stream"]
    assert seen["sse_done"]["sentences"] == ask["sentences"] == seen["sse_sentences"]
    assert seen["v1_final"].choices[0].finish_reason == "stop"
    extra = seen["v1_final"].model_extra or {}
    assert extra["citations"] == ask["citations"] and extra["grounded"] is True
    assert ask["model"] == "fake-model" and ask["usage"]["completion_tokens"] > 0
    assert seen["v1_final"].usage.completion_tokens == ask["usage"]["completion_tokens"]
    # every surface scores each sentence, and the answer as its weakest sentence
    scores = [s["score"] for s in ask["sentences"]]
    assert all(isinstance(x, float) and 0 <= x <= 1 for x in scores), ask["sentences"]
    for s in ask["sentences"]:
        assert (s["score"] >= THRESHOLD) == s["supported"] == (s["verdict"] == "supported")
    assert ask["support_score"] == seen["sse_done"]["support_score"] == min(scores)
    assert extra["support_score"] == ask["support_score"]
    assert [(s["text"], s["score"], s["verdict"]) for s in extra["sentences"]] == [
        (s["text"], s["score"], s["verdict"]) for s in ask["sentences"]
    ]
    if script == "markers_after_stop":
        assert "About 12,000 North Korean troops" in seen["v1_stream"]
        assert [s["citations"] for s in ask["sentences"]] == [
            [numbers["weapons"]],
            [numbers["troops"]],
        ]
    if script == "one_unsupported":
        assert "France" not in seen["v1_stream"]
        assert ask["sentences"][1]["reason"] == "number 300 not in quote"
        assert ask["sentences"][1]["verdict"] == "contradicted"
        assert ask["support_score"] == 0.0  # grounded, yet one sentence is contradicted


def test_check_endpoint_finds_quotes_and_reasons(service: tuple[str, dict[str, int]]) -> None:
    url, _ = service
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8").split("---", 2)[2].strip()
    body = {
        "answer": "Russia sent weapons to North Korea [1]. Some 12,000 North Korean troops "
        "have been sent to Russia. France sent 300 jets [2].",
        "passages": [
            {"text": text, "title": "North Korea preparing to send troops and weapons to Russia"},
            {"text": "Unrelated: the tram line opened in Calderport.", "id": "tram"},
        ],
    }
    reply = httpx.post(f"{url}/check", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert result["grounded"] is True
    roles, troops, jets = result["sentences"]
    assert (roles["supported"], roles["reason"]) == (False, "roles differ from quote")
    assert troops["supported"] and troops["reason"] is None
    [quote] = troops["citations"]  # no marker: matched to the passage that carries it
    assert quote["passage"] == 1 and text[quote["start"] : quote["end"]] == quote["quote"]
    assert "12,000 North Korean troops" in quote["quote"]
    assert not jets["supported"] and "not in quote" in jets["reason"]
    bad = httpx.post(f"{url}/check", json={"answer": "x", "passages": []}, timeout=30)
    assert bad.status_code == 422 and "passages" in bad.json()["error"]["message"]


# the article's treaty sentence, reworded: kept at the default threshold by its score alone
PARAPHRASE = "North Korean troops were sent to Russia under a defence treaty signed this year."


def test_check_scores_each_sentence_and_a_higher_threshold_refuses_more(
    service: tuple[str, dict[str, int]],
    fake_llm_server: tuple[FakeLLM, str],
    embedder: MiniLMEmbedder,
    tmp_path: Any,
) -> None:
    url, _ = service
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8").split("---", 2)[2].strip()
    body = {
        "answer": f"{PARAPHRASE} Some 12,000 North Korean troops have been sent to Russia. "
        "North Korea did not send troops to Russia.",
        "passages": [{"text": text, "title": "North Korea sends troops and weapons to Russia"}],
    }
    default = httpx.post(f"{url}/check", json=body, timeout=30).json()
    paraphrase, quoted, denied = default["sentences"]
    assert paraphrase["supported"] and THRESHOLD <= paraphrase["score"] < 1
    assert quoted["supported"] and quoted["score"] >= paraphrase["score"]
    assert (denied["verdict"], denied["score"], denied["reason"]) == ("contradicted", 0, "negated")
    assert default["support_score"] == 0 and default["grounded"]
    # the same request to a service that asks more of a sentence than the paraphrase's score
    strict = paraphrase["score"] + 0.01
    settings = make_settings(tmp_path, fake_llm_server[1], support_threshold=strict)
    with serve_app(create_app(settings, embedder=embedder)) as other:
        raised = httpx.post(f"{other}/check", json=body, timeout=30).json()
    flipped = raised["sentences"][0]
    assert flipped["score"] == paraphrase["score"]  # the same score, a higher bar
    assert not flipped["supported"] and flipped["verdict"] == "weak"
    assert flipped["reason"] == "its quote covers too little of it"
    assert [s["supported"] for s in raised["sentences"][1:]] == [
        quoted["score"] >= strict,
        False,
    ]


def test_qa_check_command(tmp_path: Any) -> None:
    request = {
        "answer": "North Korea did not send troops to Russia [1].",
        "passages": [{"text": "Some 12,000 North Korean troops have been sent to Russia."}],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli.main", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 4, done.stderr  # not grounded
    result = json.loads(done.stdout)
    assert result["sentences"][0]["reason"] == "negated"
    flags = ["--answer", "Some 12,000 troops were sent to Russia [1].", "--passage"]
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli.main", "check", *flags, request["passages"][0]["text"]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["grounded"] is True
