"""The `qa` console script with QA_* variables: its `main` in this process, and as a process."""

import json
import sqlite3
import sys
from pathlib import Path

from qa.testing.llm_server import FakeLLM
from tests.utils.support import COLLECTION, SAMPLE_ARTICLES, SAMPLE_DIR
from tests.utils.support import run_cli as run

QA = [sys.executable, "-m", "qa.cli.main"]


def test_ingest_reports_counts_and_is_idempotent(tmp_path: Path) -> None:
    first = run(["ingest", "--quiet", str(SAMPLE_DIR)], tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["added"] == SAMPLE_ARTICLES and summary["failed"] == 0
    second = run(["ingest", "--quiet", str(SAMPLE_DIR)], tmp_path)
    assert json.loads(second.stdout)["unchanged"] == SAMPLE_ARTICLES
    saved = tmp_path / "data" / "bm25" / "cli" / "keyword.sqlite3"
    assert saved.is_file(), "ingest leaves a saved BM25 index for `serve` to load"
    listing = run(["documents", "list"], tmp_path)
    assert "nk-russia-weapons-2024" in listing.stdout
    search = run(["search", "240mm rocket launchers", "--top-k", "1"], tmp_path)
    assert json.loads(search.stdout)[0]["doc_id"] == "nk-russia-weapons-2024"
    assert run(["documents", "delete", "nk-russia-weapons-2024"], tmp_path).returncode == 0
    with sqlite3.connect(saved) as db:  # the delete updated the saved index itself
        query = "SELECT count(*) FROM chunks WHERE doc_id = 'nk-russia-weapons-2024'"
        assert db.execute(query).fetchone() == (0,)
    after = run(["search", "240mm rocket launchers", "--top-k", "3"], tmp_path, QA_RETRIEVAL="bm25")
    assert all(p["doc_id"] != "nk-russia-weapons-2024" for p in json.loads(after.stdout))


def test_ingest_names_malformed_lines_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "ok", "title": "Fine", "text": "Valid text."}\n{"id": "x", "text": "no title"}\n',
        encoding="utf-8",
    )
    result = run(["ingest", str(bad)], tmp_path)
    assert result.returncode == 1
    assert "bad.jsonl:2" in result.stderr and "title" in result.stderr
    assert json.loads(result.stdout) == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "chunks": 1,
    }


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = run(["ingest", str(tmp_path / "nope.jsonl")], tmp_path)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_ask_against_an_unreachable_llm_exits_nonzero(tmp_path: Path, sample_data: Path) -> None:
    llm = {"QA_LLM_BASE_URL": "http://127.0.0.1:9/v1", "QA_COLLECTION": COLLECTION}
    result = run(["ask", "What weapons?"], tmp_path, **llm)
    assert result.returncode == 3 and "llm_error" in result.stderr


def test_ask_prints_cited_answer(
    tmp_path: Path, sample_data: Path, fake_llm_server: tuple[FakeLLM, str], fake_llm: FakeLLM
) -> None:
    llm = {
        "QA_LLM_BASE_URL": fake_llm_server[1],
        "QA_LLM_MODEL": "fake-model",
        "QA_COLLECTION": COLLECTION,
    }
    result = run(["ask", "What weapons were reportedly supplied to Russia?"], tmp_path, **llm)
    assert result.returncode == 0, result.stderr
    answer, citation = result.stdout.splitlines()[:2]
    assert "240mm multiple rocket launchers" in answer and answer.endswith("[1].")
    assert (
        citation.startswith("  [1] North Korea preparing")
        and "(Sample News, 2024-11-04)" in citation
    )
    as_json = json.loads(run(["ask", "What weapons?", "--json"], tmp_path, **llm).stdout)
    assert as_json["grounded"] is True and as_json["citations"]
