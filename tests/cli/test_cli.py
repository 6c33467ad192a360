"""The `qa` console script with QA_* variables: its `main` in this process, and as a process."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from qa.testing.llm_server import FakeLLM
from qa.testing.servers import free_port, wait_http
from tests.utils.support import COLLECTION, ROOT, SAMPLE_ARTICLES, SAMPLE_DIR
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


def test_serve_runs_the_app(tmp_path: Path) -> None:
    """`qa serve` installed from a wheel, away from this source tree: the prompts and the chat
    page must travel as package data."""
    site = install_wheel(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_PORT": str(port),
    }
    where = subprocess.run(
        [sys.executable, "-c", "import qa; print(qa.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(site)), where.stdout
    proc = subprocess.Popen(
        [str(site / "bin" / "qa"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, 60)  # the prompts loaded at start
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'id="question"' in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def install_wheel(tmp_path: Path) -> Path:
    """Build the project's wheel from a copy of what it packages, check what it holds, and
    install it (no dependencies: this environment has them) into a folder of its own."""
    source = tmp_path / "source"
    source.mkdir()
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    for package in ("qa", "index", "prompts"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, capture_output=True)
    [wheel] = wheels.glob("newsqa-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # the top-level prompts/ lands in the package, and every module of the tree is in the wheel
    # (a package missing from pyproject's list would install without it)
    prompts = {f"qa/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.txt")}
    static = {f"qa/web/static/{n}" for n in ("index.html", "app.js", "style.css")}
    modules = {p.relative_to(ROOT).as_posix() for d in ("qa", "index") for p in (ROOT / d).rglob("*.py")}  # fmt: skip
    assert len(prompts) >= 8
    assert not (prompts | static | modules) - names
    install = [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    return site
