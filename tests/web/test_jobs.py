"""Large document batches become background jobs; documents have a size cap; SIGTERM stops a
running ingest between documents or embedding batches."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from index.embed import Embedder, MiniLMEmbedder
from index.load import Document
from qa.jobs import IngestStopped, JobRunner, StoppableEmbedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import free_port, serve_app, wait_http
from qa.web.app import create_app
from tests.utils.support import ROOT, make_settings, wait_until

WORDS = (
    "council harbour project delayed residents noise traffic cost quay budget ferry crane "
    "dredging berth cargo tide storm repair contract vote mayor engineers concrete steel"
).split()
QUAYS = ["amber", "birch", "cobalt", "dune", "ember", "fjord", "granite", "heron"]


def article(i: int, sentences: int = 4) -> dict:
    """Articles of about 130 characters a sentence, worded differently enough that none is
    taken for a copy of another (wire-story detection)."""
    rng = random.Random(i)
    quay = QUAYS[i % len(QUAYS)]
    body = " ".join(
        " ".join(rng.choice(WORDS) for _ in range(18)).capitalize() + "." for _ in range(sentences)
    )
    text = f"Report {i}: the {quay} quay budget rose to {1000 + i} thousand euros. {body}"
    return {"id": f"harbour-{i}", "title": f"{quay.title()} quay report", "text": text}


@pytest.fixture
def small_sync(
    tmp_path: Path, embedder: MiniLMEmbedder, fake_llm_server: tuple[FakeLLM, str]
) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path,
        fake_llm_server[1],
        ingest_sync_max=3,
        ingest_sync_max_chars=5_000,
        max_document_chars=3_000,
    )
    with (
        serve_app(create_app(settings, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def finished(client: httpx.Client, job_id: str) -> dict:
    view: dict = {}

    def done() -> bool:
        nonlocal view
        view = client.get(f"/jobs/{job_id}").json()
        return view["status"] not in ("queued", "running")

    wait_until(done, f"job {job_id}", timeout_s=120)
    return view


def test_small_batch_is_written_at_once(small_sync: httpx.Client) -> None:
    reply = small_sync.post("/documents", json=[article(i) for i in range(3)])
    assert reply.status_code == 200 and len(reply.json()["added"]) == 3


def test_large_batch_is_a_job_with_progress_and_result(small_sync: httpx.Client) -> None:
    reply = small_sync.post("/documents", json=[article(i) for i in range(6)])
    assert reply.status_code == 202, reply.text
    queued = reply.json()
    assert queued["documents"] == 6 and reply.headers["location"] == f"/jobs/{queued['job_id']}"
    view = finished(small_sync, queued["job_id"])
    assert view["status"] == "done" and view["error"] is None
    assert view["progress"] == {"done": 6, "total": 6}
    assert sorted(view["result"]["added"]) == sorted(f"harbour-{i}" for i in range(6))
    assert view["result"]["chunks"] >= 6
    hits = small_sync.post("/search", json={"query": "Ember quay report"})
    assert hits.json()["passages"][0]["doc_id"] == "harbour-4"  # searchable, BM25 included
    again = small_sync.post("/documents", json=[article(i) for i in range(6)]).json()
    assert finished(small_sync, again["job_id"])["result"]["unchanged"] == [
        f"harbour-{i}" for i in range(6)
    ]


def test_many_characters_also_make_a_job(small_sync: httpx.Client) -> None:
    reply = small_sync.post("/documents", json=[article(i, sentences=21) for i in range(2)])
    assert reply.status_code == 202
    assert finished(small_sync, reply.json()["job_id"])["status"] == "done"


def test_document_over_the_size_cap_is_413_naming_the_limit(small_sync: httpx.Client) -> None:
    batch = [article(1), article(2, sentences=30)]
    reply = small_sync.post("/documents", json=batch)
    assert reply.status_code == 413
    error = reply.json()["error"]
    assert error["type"] == "document_too_long"
    assert "QA_MAX_DOCUMENT_CHARS" in error["message"] and "3000" in error["message"]
    assert "'harbour-2'" in error["message"]
    assert small_sync.get("/documents/harbour-1").status_code == 404  # nothing written


def test_unknown_job_is_404_json(small_sync: httpx.Client) -> None:
    reply = small_sync.get("/jobs/not-a-job")
    assert reply.status_code == 404 and reply.json()["error"]["type"] == "not_found"


class CountingEmbedder(Embedder):
    dimension = 2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.ones((len(texts), 2), dtype=np.float32)


def test_stoppable_embedder_gives_up_between_slices() -> None:
    stop = threading.Event()
    inner = CountingEmbedder()
    embedder = StoppableEmbedder(inner, stop)
    assert embedder.embed(["x"] * 200).shape == (200, 2) and inner.calls == 4  # 64 per slice
    assert embedder.embed([]).shape == (0, 2)
    stop.set()
    with pytest.raises(IngestStopped):
        embedder.embed(["x"] * 10)


def test_a_stopped_runner_reports_the_job_as_stopped() -> None:
    stop = threading.Event()
    started = threading.Event()

    def work(docs: list[Document], on_done) -> dict:  # noqa: ANN001
        for _ in docs:
            on_done()
            started.set()
            while not stop.is_set():
                time.sleep(0.01)
            raise IngestStopped("stopping")
        return {}

    runner = JobRunner(work, stop)
    docs = [Document(id=f"d{i}", title="T", text="body") for i in range(3)]
    job = runner.submit(docs)
    queued_behind = runner.submit(docs)
    assert started.wait(10)
    runner.close()
    assert job.status == "stopped" and job.done == 1
    assert job.error and "after 1 of 3 documents" in job.error["message"]
    assert queued_behind.status == "stopped"
    with pytest.raises(IngestStopped):
        runner.submit(docs)


def test_sigterm_stops_a_running_ingest_job_within_seconds(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_LLM_BASE_URL": fake_llm_server[1],
        "QA_INGEST_SYNC_MAX": "1",
        "QA_RATE_LIMIT": "off",
        "PYTHONPATH": str(ROOT),
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", proc, 120)
        with httpx.Client(base_url=url, timeout=30) as c:
            # ~1,200 chunks: minutes of embedding on two cores
            reply = c.post("/documents", json=[article(i, sentences=6) for i in range(400)])
            assert reply.status_code == 202, reply.text
            job = f"/jobs/{reply.json()['job_id']}"
            wait_until(lambda: c.get(job).json()["progress"]["done"] >= 2, "the job to start")
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down gracefully
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = log_path.read_text(errors="replace").splitlines()
    stopped = [line for line in lines if "ingest_job_finished" in line and "stopped" in line]
    assert stopped, "\n".join(lines[-30:])
