"""Ingest: load files, skip unchanged documents, chunk, embed and store the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

from index.chunk import chunk_text
from index.embed import Embedder
from index.load import Document, LoadError, iter_files, load_path
from index.records import INDEX_FORMAT
from index.store import Store

log = structlog.get_logger(__name__)
Outcome = Literal["added", "updated", "unchanged"]
AfterBatch = Callable[[list[str]], None]
BATCH_DOCS = 64  # documents written to Chroma before the keyword index and groups follow


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    chunks: int = 0

    def record(self, doc_id: str, outcome: Outcome) -> None:
        getattr(self, outcome).append(doc_id)

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "chunks": self.chunks,
        }


class Ingestor:
    def __init__(self, embedder: Embedder, store: Store, chunk_tokens: int, chunk_overlap: int):
        self.embedder = embedder
        self.store = store
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap

    def ingest_document(self, doc: Document) -> tuple[Outcome, int]:
        state = self.store.index_state(doc.id)
        previous = state[0] if state else None
        if previous == doc.content_hash:
            if state and state[1] < INDEX_FORMAT:  # stored by an older version: no re-embedding
                self.store.refresh_metadata(doc)
                return "updated", 0
            return "unchanged", 0
        chunks = chunk_text(doc.id, doc.text, self.chunk_tokens, self.chunk_overlap)
        vectors = self.embedder.embed([_embedding_text(doc, c.text) for c in chunks])
        self.store.put_document(doc, chunks, vectors)
        log.info("document_indexed", doc_id=doc.id, chunks=len(chunks), replaced=bool(previous))
        return ("updated" if previous else "added"), len(chunks)

    def ingest_documents(
        self,
        docs: Iterable[Document],
        on_done: Callable[[], None] | None = None,
        after_batch: AfterBatch | None = None,
    ) -> IngestReport:
        return self._ingest(docs, IngestReport(), on_done, after_batch)

    def ingest_paths(
        self,
        paths: list[Path],
        on_error: Callable[[LoadError], None] | None = None,
        on_done: Callable[[], None] | None = None,
        after_batch: AfterBatch | None = None,
    ) -> IngestReport:
        """Ingest every valid record; malformed ones are reported and never half-written."""
        report = IngestReport()

        def valid_documents() -> Iterator[Document]:
            for path in iter_files(paths):
                for item in load_path(path):
                    if isinstance(item, Document):
                        yield item
                        continue
                    report.failed.append(str(item))
                    if on_error:
                        on_error(item)

        return self._ingest(valid_documents(), report, on_done, after_batch)

    def _ingest(
        self,
        docs: Iterable[Document],
        report: IngestReport,
        on_done: Callable[[], None] | None,
        after_batch: AfterBatch | None,
    ) -> IngestReport:
        """`after_batch` gets the ids of every BATCH_DOCS changed documents (and of the last
        ones, even when a document fails), so derived indexes follow Chroma batch by batch."""
        changed: list[str] = []
        try:
            for doc in docs:
                outcome, n_chunks = self.ingest_document(doc)
                report.record(doc.id, outcome)
                report.chunks += n_chunks
                if outcome != "unchanged":
                    changed.append(doc.id)
                if after_batch and len(changed) >= BATCH_DOCS:
                    after_batch(changed)
                    changed = []
                if on_done:
                    on_done()
        finally:
            if after_batch and changed:
                after_batch(changed)
        return report


def _embedding_text(doc: Document, chunk: str) -> str:
    # the title gives a chunk its topic when the chunk itself never names it
    return f"{doc.title}\n{chunk}"
