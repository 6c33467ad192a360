"""The `qa` console script, run as a user would (a subprocess with QA_* variables)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE_DIR

QA = [sys.executable, "-m", "qa.cli"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_COLLECTION": "cli",
        **env,
    }
    return subprocess.run(
        [*QA, *args], capture_output=True, text=True, env=environment, timeout=300
    )


def test_ingest_reports_counts_and_is_idempotent(tmp_path: Path) -> None:
    first = run(["ingest", "--quiet", str(SAMPLE_DIR)], tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["added"] == 5 and summary["failed"] == 0
    second = run(["ingest", "--quiet", str(SAMPLE_DIR)], tmp_path)
    assert json.loads(second.stdout)["unchanged"] == 5
    listing = run(["documents", "list"], tmp_path)
    assert "nk-russia-weapons-2024" in listing.stdout
    search = run(["search", "240mm rocket launchers", "--top-k", "1"], tmp_path)
    assert json.loads(search.stdout)[0]["doc_id"] == "nk-russia-weapons-2024"


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


def test_ask_against_an_unreachable_llm_exits_nonzero(tmp_path: Path) -> None:
    run(["ingest", "--quiet", str(SAMPLE_DIR)], tmp_path)
    result = run(["ask", "What weapons?"], tmp_path, QA_LLM_BASE_URL="http://127.0.0.1:9/v1")
    assert result.returncode == 3 and "llm_error" in result.stderr
