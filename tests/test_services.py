"""The composition root: where the judge's requests go (QA_JUDGE_BASE_URL), over real HTTP to
two in-process OpenAI-compatible fake servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import Embedder
from qa.llm.openai_chat import OpenAIChat
from qa.services import build_judge
from qa.testing.fakes import ScriptedLLM
from qa.testing.llm_server import FakeLLM, create_fake_llm_app
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import make_settings

QUESTION = "What weapons were supplied to Russia?"


@pytest.fixture
def judge_server() -> Iterator[tuple[FakeLLM, str]]:
    state = FakeLLM(model="judge-model")
    with serve_app(create_fake_llm_app(state)) as url:
        yield state, f"{url}/v1"


def test_the_judge_asks_its_own_server_and_the_answer_comes_from_the_answer_server(
    tmp_path: Path, sample_data: Path, embedder: Embedder,
    fake_llm_server: tuple[FakeLLM, str], fake_llm: FakeLLM,
    judge_server: tuple[FakeLLM, str],
) -> None:  # fmt: skip
    judge_llm, judge_url = judge_server
    settings = make_settings(
        tmp_path, fake_llm_server[1], judge="all", judge_base_url=judge_url,
        judge_model="judge-model", judge_api_key="judge-key",
    )  # fmt: skip
    judge_llm.judge_yes = 0.1  # the judge server refuses; the answer server would keep it
    with serve_app(create_app(settings, embedder=embedder)) as url:
        body = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=60).json()
    assert body["sentences"] and not body["sentences"][0]["supported"]
    assert [r for r in fake_llm.requests if r.get("stream")]  # the answer
    assert not [r for r in fake_llm.requests if r.get("logprobs")]
    judged = [r for r in judge_llm.requests if r.get("logprobs")]
    assert judged and all(r["model"] == "judge-model" for r in judged)
    assert not [r for r in judge_llm.requests if r.get("stream")]


def test_without_a_judge_server_the_judge_asks_the_answering_llm(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    settings = make_settings(
        tmp_path, "http://127.0.0.1:9/v1", judge="risky", judge_prompt="continuation"
    )
    judge = build_judge(settings, llm)
    assert judge is not None and judge.llm is llm and judge.prompt == "continuation"
    other = make_settings(
        tmp_path, "http://127.0.0.1:9/v1", judge="risky", judge_base_url="http://127.0.0.1:7/v1",
    )  # fmt: skip
    judge = build_judge(other, llm)
    assert judge is not None and isinstance(judge.llm, OpenAIChat) and judge.prompt == "quote"
    assert judge.llm.model == other.llm_model  # model and key default to the answering LLM's
    assert build_judge(make_settings(tmp_path, "http://127.0.0.1:9/v1"), llm) is None  # off
