"""The one writer of the index, and the snapshot its readers search.

Chroma holds the truth; the keyword index (SQLite FTS5) and the near-duplicate groups are derived
from it. `Index` writes Chroma and brings both derived parts in step after every batch of
documents, before the write returns; readers take `snapshot()`, replaced by one attribute
assignment, so a search never rebuilds anything nor sees half of a swap.

Several processes may share one Chroma server (`QA_CHROMA_URL`): each write batch is recorded in
the change log (`index.changes`), and every process polls it about once a second to bring its own
keyword index and groups in step, document by document. At start the keyword file is compared
with Chroma's chunk ids, and only the difference is read."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index.changes import ChangeLog
from index.dedup import DuplicateFinder, DuplicateGroups
from index.ingest import Ingestor, IngestReport
from index.keyword import KeywordChunk, KeywordIndex
from index.load import Document, LoadError
from index.store import Store

log = logging.getLogger(__name__)
POLL_S = 1.0


@dataclass(frozen=True)
class Snapshot:
    """What one search reads: replaced whole after every write batch, never changed."""

    keyword: KeywordIndex  # SQLite: each query reads one committed state
    duplicates: DuplicateGroups
    generation: int  # write batches applied by this process (own and others')


class Index:
    def __init__(
        self,
        store: Store,
        ingestor: Ingestor | None = None,
        keyword_path: Path | None = None,
        poll_s: float = POLL_S,
    ):
        """`keyword_path`: the keyword index's SQLite file (None: a temporary one)."""
        self.store = store
        self.ingestor = ingestor
        self.keyword = KeywordIndex(keyword_path)
        self.changes = ChangeLog(store)
        self.poll_s = poll_s
        self._lock = threading.RLock()  # one writer (or sync) at a time in this process
        self._duplicates = DuplicateFinder()
        self._snapshot: Snapshot | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    # --- reads -----------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            self.open()
            snapshot = self._snapshot
            assert snapshot is not None
        return snapshot

    def open(self) -> None:
        """Bring the keyword index and groups in step with Chroma (once, at start)."""
        with self._lock:
            if self._snapshot is None:
                self._resync()

    def _resync(self) -> None:
        """Compare with Chroma and read only the difference (also after a lost change log)."""
        clock = time.perf_counter()
        self.changes.start()  # changes from now on are replayed by the next poll
        stored = set(self.store.all_chunk_ids())
        mine = self.keyword.chunk_ids()
        missing = sorted(stored - mine)
        rows = [KeywordChunk.from_chroma(*c) for c in self.store.chunk_texts(ids=missing)]
        self.keyword.apply(rows, drop_chunks=mine - stored)
        self._duplicates = DuplicateFinder()
        for copy, minhash in self.store.document_records():
            self._duplicates.put(copy, minhash)
        self._publish()
        log.info(
            "index in step with Chroma: %d chunks, %d read, %d dropped, %.1f s",
            len(stored),
            len(missing),
            len(mine - stored),
            time.perf_counter() - clock,
        )

    def _publish(self) -> None:
        generation = self._snapshot.generation + 1 if self._snapshot else 0
        self._snapshot = Snapshot(self.keyword, self._duplicates.groups(), generation)

    # --- writes ----------------------------------------------------------------------------
    def write(
        self, docs: Iterable[Document], on_done: Callable[[], None] | None = None
    ) -> IngestReport:
        """Ingest documents; every batch is searchable when the next one starts, and all of
        them when this returns."""
        ingestor = self._ingestor()
        with self._lock:
            self.snapshot()
            return ingestor.ingest_documents(docs, on_done, after_batch=self._written)

    def write_paths(
        self,
        paths: list[Path],
        on_error: Callable[[LoadError], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> IngestReport:
        ingestor = self._ingestor()
        with self._lock:
            self.snapshot()
            return ingestor.ingest_paths(paths, on_error, on_done, after_batch=self._written)

    def delete(self, doc_id: str) -> bool:
        with self._lock:
            self.snapshot()
            existed = self.store.delete_document(doc_id)
            self._written([doc_id])
            return existed

    def _ingestor(self) -> Ingestor:
        if self.ingestor is None:
            raise RuntimeError("this Index was opened for reading only")
        return self.ingestor

    def _written(self, doc_ids: list[str]) -> None:
        self._follow(doc_ids)
        self.changes.record(doc_ids)

    def _follow(self, doc_ids: list[str]) -> None:
        """Make the named documents' keyword rows and group records what Chroma holds now."""
        rows = [KeywordChunk.from_chroma(*c) for c in self.store.chunk_texts(doc_ids=doc_ids)]
        self.keyword.apply(rows, drop_docs=doc_ids)
        found = {c.doc_id: (c, h) for c, h in self.store.document_records(doc_ids)}
        for doc_id in doc_ids:
            if doc_id in found:
                self._duplicates.put(*found[doc_id])
            else:
                self._duplicates.remove(doc_id)
        self._publish()

    # --- other processes' writes -----------------------------------------------------------
    def sync(self) -> bool:
        """Apply the writes other processes recorded since the last call; True if any."""
        with self._lock:
            if self._snapshot is None:
                self._resync()
                return True
            changed = self.changes.poll()
            if changed is None:  # polled too rarely: the log no longer reaches back
                self._resync()
                return True
            if changed:
                self._follow(sorted(changed))
            return bool(changed)

    def start_polling(self) -> None:
        if self._poller is None:
            self._stop.clear()
            self._poller = threading.Thread(target=self._poll_loop, name="index-sync", daemon=True)
            self._poller.start()

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
            self._poller = None

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.sync()
            except Exception as error:  # Chroma away: try again at the next tick
                log.warning("index sync failed: %s", error)
