"""BM25 keyword index (bm25s) over every chunk in the store, kept beside Chroma.

It is derived data: built from Chroma's chunk texts and saved under `cache_dir` with a
fingerprint of the chunk ids it covers (ids hash the chunk text, so the fingerprint changes with
any edit). On first use the saved index is loaded if its fingerprint matches the store, else it is
rebuilt; after a write in this process, or a chunk count changed by another one, it is rebuilt
and saved again."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from index.store import META_PREFIX, Store

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeywordFilter:
    source: str | None = None
    min_ts: int | None = None
    max_ts: int | None = None
    metadata: tuple[tuple[str, Any], ...] = field(default=())


def fingerprint(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


class KeywordIndex:
    def __init__(self, store: Store, cache_dir: Path | None = None):
        self.store = store
        self.cache_dir = cache_dir
        self.stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self._signature: tuple[int, int] | None = None
        self._bm25: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._rows: list[dict[str, Any]] = []  # per chunk: doc_id, source, published_ts, m_*
        self._sources = np.array([], dtype=object)
        self._stamps = np.array([], dtype=np.float64)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        tokens = bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        return tokens  # type: ignore[return-value]

    def refresh(self) -> None:
        """Bring the index up to date now (after an ingest), not on the next search."""
        self._ensure_current()

    def _ensure_current(self) -> None:
        signature = (self.store.version, self.store.chunks.count())
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            if self._signature is not None or not self._load_saved():
                self._rebuild()
            self._signature = signature

    def _rebuild(self) -> None:
        ids, texts, metas = self.store.all_chunks()
        bm25 = None
        if ids:
            bm25 = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
            bm25.index(self._tokenize(_indexed_texts(texts, metas)), show_progress=False)
        rows = [
            {k: v for k, v in m.items() if k in _ROW_KEYS or k.startswith(META_PREFIX)}
            for m in metas
        ]
        self._install(bm25, ids, rows)
        self._save(fingerprint(ids))

    def _install(self, bm25: bm25s.BM25 | None, ids: list[str], rows: list[dict[str, Any]]) -> None:
        self._bm25 = bm25
        self._ids = ids
        self._rows = rows
        self._sources = np.array([r.get("source") for r in rows], dtype=object)
        self._stamps = np.array([r.get("published_ts", np.nan) for r in rows], dtype=np.float64)

    # --- persistence -----------------------------------------------------------------------
    def _save(self, ids_fingerprint: str) -> None:
        if self.cache_dir is None:
            return
        staging = self.cache_dir.with_name(self.cache_dir.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(staging / "bm25"))
        rows = {"fingerprint": ids_fingerprint, "ids": self._ids, "rows": self._rows}
        (staging / "rows.json").write_text(json.dumps(rows))
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        staging.rename(self.cache_dir)  # a reader sees the old index or the new one, never half

    def _load_saved(self) -> bool:
        if self.cache_dir is None or not (self.cache_dir / "rows.json").is_file():
            return False
        try:
            saved = json.loads((self.cache_dir / "rows.json").read_text())
            if saved["fingerprint"] != fingerprint(self.store.all_chunk_ids()):
                log.info("saved BM25 index is stale; rebuilding")
                return False
            bm25 = bm25s.BM25.load(str(self.cache_dir / "bm25")) if saved["ids"] else None
        except (OSError, ValueError, KeyError) as error:
            log.warning("saved BM25 index unreadable (%s); rebuilding", error)
            return False
        self._install(bm25, saved["ids"], saved["rows"])
        return True

    # --- search ----------------------------------------------------------------------------
    def search(
        self, query: str, k: int, filters: KeywordFilter | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best (chunk id, BM25 score) pairs with a positive score."""
        self._ensure_current()
        if self._bm25 is None:
            return []
        query_tokens = self._tokenize([query])[0]
        if not query_tokens:
            return []
        scores = self._bm25.get_scores(query_tokens)
        if filters is not None:
            scores = np.where(self._mask(filters), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def _mask(self, filters: KeywordFilter) -> np.ndarray:
        mask = np.ones(len(self._ids), dtype=bool)
        if filters.source is not None:
            mask &= self._sources == filters.source
        with np.errstate(invalid="ignore"):  # undated chunks (NaN) fail any date filter
            if filters.min_ts is not None:
                mask &= self._stamps >= filters.min_ts
            if filters.max_ts is not None:
                mask &= self._stamps <= filters.max_ts
        for key, value in filters.metadata:
            name = META_PREFIX + key
            mask &= np.array([row.get(name) == value for row in self._rows], dtype=bool)
        return mask


_ROW_KEYS = {"doc_id", "source", "published_ts"}


def _indexed_texts(texts: list[str], metas: list[dict[str, Any]]) -> list[str]:
    # the title makes every chunk of an article findable by the article's subject
    return [f"{m.get('title', '')}\n{t}" for t, m in zip(texts, metas, strict=True)]
