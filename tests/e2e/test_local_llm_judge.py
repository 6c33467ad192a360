"""The continuation judge with the real bundled model: its question continues the answer's own
conversation, so llama.cpp finds the passages and the answer in its cache and reads only the
question (its log says how many prompt tokens it still had to read)."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from index.load import load_path
from qa.llm.local import MODEL_ALIAS
from qa.settings import Settings
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import SAMPLE_ARTICLE, make_settings

pytestmark = pytest.mark.llm
REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")


@pytest.fixture
def judged(
    local_llm_server: tuple[str, Path], tmp_path: Path, embedder: MiniLMEmbedder
) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path, local_llm_server[0], llm_model=MODEL_ALIAS, llm_timeout_s=300,
        passage_budget=Settings.model_fields["passage_budget"].default,
        judge="all", judge_prompt="continuation",  # every supported sentence is read again
    )  # fmt: skip
    with (
        serve_app(create_app(settings, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=300) as c,
    ):
        [doc] = list(load_path(SAMPLE_ARTICLE))
        assert c.post("/documents", json=doc.model_dump()).status_code == 200  # type: ignore[union-attr]
        yield c


def test_the_judge_reads_a_few_dozen_new_tokens_and_keeps_a_right_answer(
    judged: httpx.Client, local_llm_server: tuple[str, Path]
) -> None:
    url, log = local_llm_server
    hello = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    httpx.post(f"{url}/chat/completions", json=hello, timeout=300)  # so every prompt finds a prefix
    offset = log.stat().st_size
    body = judged.post(
        "/ask", json={"question": "What weapons were reportedly supplied to Russia?"}
    )
    assert body.status_code == 200, body.text
    answer = body.json()
    assert answer["grounded"] and "240mm multiple rocket launchers" in answer["answer"]
    assert "judge" in answer["timings_ms"]
    with log.open("rb") as f:
        f.seek(offset)
        read = [int(n) for n in REMAINING.findall(f.read().decode(errors="replace"))]
    # the answer read its passages; each judged sentence then only its question
    answer_read, *judge_reads = read
    assert answer_read > 150 and judge_reads, read
    assert max(judge_reads) < 80, read
