"""The continuation judge with the real bundled model: its question continues the answer's own
conversation, so llama.cpp finds the passages and the answer in its cache and reads only the
question (its log says how many prompt tokens it still had to read)."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from qa.llm.local import MODEL_ALIAS
from tests.utils.support import sample_app

pytestmark = pytest.mark.llm
REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")


@pytest.fixture
def judged(
    local_llm_server: tuple[str, Path], tmp_path: Path, embedder: MiniLMEmbedder
) -> Iterator[httpx.Client]:
    with sample_app(
        local_llm_server[0], tmp_path, embedder,
        judge="all", judge_prompt="continuation",  # every supported sentence is read again
    ) as c:  # fmt: skip
        yield c


def test_the_continuation_judge_reads_a_few_dozen_new_tokens_per_sentence(
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
    # every sentence was read again; whether it is kept is the prompt's calibration, measured in
    # docs/measurements.md (at 0.7 this prompt refuses true sentences more often than `quote`,
    # the default, with which test_local_llm checks that this answer is kept; a CI run saw this
    # prompt refuse it)
    assert "240mm multiple rocket launchers" in " ".join(s["text"] for s in answer["sentences"])
    assert "judge" in answer["timings_ms"]
    with log.open("rb") as f:
        f.seek(offset)
        read = [int(n) for n in REMAINING.findall(f.read().decode(errors="replace"))]
    # the answer read its passages; each judged sentence then only its question
    answer_read, *judge_reads = read
    assert answer_read > 150 and judge_reads, read
    assert max(judge_reads) < 80, read
