"""Background ingest jobs: large document batches are written by one worker thread, one job at a
time, while `GET /jobs/{id}` reports progress. Setting the stop event (SIGTERM) stops a job
between documents and between embedding batches, so the process exits within seconds."""

from __future__ import annotations

import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import structlog

from index.embed import Embedder
from index.load import Document

if TYPE_CHECKING:
    from qa.metrics import Metrics

log = structlog.get_logger(__name__)
Status = Literal["queued", "running", "done", "failed", "stopped"]
Work = Callable[[list[Document], Callable[[], None]], Any]
STOP_CHECK_TEXTS = 64  # embedding texts between stop checks: ~2 s on 2 cores


class IngestStopped(Exception):
    """The server is stopping: the write ended between two documents or embedding batches."""


class JobQueueFull(Exception):
    pass


class StoppableEmbedder(Embedder):
    """Embeds in slices and gives up between slices once `stop` is set: one long document must
    not hold a stopping process for minutes."""

    def __init__(self, inner: Embedder, stop: threading.Event):
        self.inner = inner
        self.dimension = inner.dimension
        self.stop = stop

    def embed(self, texts: list[str]) -> np.ndarray:
        parts = []
        for i in range(0, len(texts), STOP_CHECK_TEXTS):
            if self.stop.is_set():
                raise IngestStopped("the server is stopping")
            parts.append(self.inner.embed(texts[i : i + STOP_CHECK_TEXTS]))
        return np.concatenate(parts) if parts else self.inner.embed([])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    total: int
    status: Status = "queued"
    done: int = 0
    result: Any = None
    error: dict[str, str] | None = None
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "status": self.status,
            "progress": {"done": self.done, "total": self.total},
            "result": self.result,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class JobRunner:
    def __init__(
        self,
        work: Work,
        stop: threading.Event,
        metrics: Metrics | None = None,
        max_queued: int = 8,
        keep: int = 200,
    ):
        self.work = work
        self.stop = stop
        self.metrics = metrics
        self.max_queued = max_queued
        self.keep = keep  # finished jobs remembered for GET /jobs/{id}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._pending: queue.Queue[tuple[Job, list[Document]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # started by the first job

    def submit(self, docs: list[Document]) -> Job:
        with self._lock:
            if self.stop.is_set():
                raise IngestStopped("the server is stopping")
            if self._pending.qsize() >= self.max_queued:
                raise JobQueueFull(f"{self.max_queued} ingest jobs are already waiting")
            job = Job(id=uuid.uuid4().hex, total=len(docs))
            self._jobs[job.id] = job
            self._forget_old()
            self._pending.put((job, docs))
            if self._thread is None:
                # daemon: a job stuck inside one embedding call must not keep the process alive
                self._thread = threading.Thread(target=self._loop, name="ingest-jobs", daemon=True)
                self._thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self, timeout_s: float = 5.0) -> None:
        self.stop.set()
        self._pending.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.finished_at is not None]
        for job_id in finished[: max(0, len(self._jobs) - self.keep)]:
            del self._jobs[job_id]

    def _loop(self) -> None:
        while (item := self._pending.get()) is not None:
            job, docs = item
            if self.stop.is_set():
                self._finish(job, "stopped", error=("stopped", "the server stopped before it ran"))
                continue
            self._run(job, docs)

    def _run(self, job: Job, docs: list[Document]) -> None:
        job.status, job.started_at = "running", _now()
        self._progress(job)
        log.info("ingest_job_started", job_id=job.id, documents=job.total)

        def on_done() -> None:
            job.done += 1
            self._progress(job)

        try:
            job.result = self.work(docs, on_done)
        except IngestStopped:
            message = f"the server stopped after {job.done} of {job.total} documents; send again"
            self._finish(job, "stopped", ("stopped", message))
        except Exception as exc:  # reported in the job, not lost in a thread
            log.exception("ingest_job_failed", job_id=job.id)
            self._finish(job, "failed", ("ingest_failed", f"{type(exc).__name__}: {exc}"))
        else:
            self._finish(job, "done")

    def _finish(self, job: Job, status: Status, error: tuple[str, str] | None = None) -> None:
        job.status, job.finished_at = status, _now()
        if error:
            job.error = {"type": error[0], "message": error[1]}
        log.info("ingest_job_finished", job_id=job.id, status=status, done=job.done)
        if self.metrics:
            self.metrics.ingest_jobs.labels(status).inc()
            self.metrics.ingest_done.set(0)
            self.metrics.ingest_total.set(0)

    def _progress(self, job: Job) -> None:
        if self.metrics:
            self.metrics.ingest_done.set(job.done)
            self.metrics.ingest_total.set(job.total)
