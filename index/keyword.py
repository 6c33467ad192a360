"""BM25 keyword index (bm25s) over every chunk in the store, kept beside Chroma.

It is derived data: rebuilt from Chroma's chunk texts whenever the store changed (a write in
this process, or a different chunk count written by another one), so it never needs its own
persistence or migration."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
import Stemmer

from index.store import Store

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG


@dataclass(frozen=True)
class KeywordFilter:
    source: str | None = None
    min_ts: int | None = None
    max_ts: int | None = None


class KeywordIndex:
    def __init__(self, store: Store):
        self.store = store
        self.stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self._signature: tuple[int, int] | None = None
        self._bm25: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._sources = np.array([], dtype=object)
        self._stamps = np.array([], dtype=np.float64)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        tokens = bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        return tokens  # type: ignore[return-value]

    def _ensure_current(self) -> None:
        signature = (self.store.version, self.store.chunks.count())
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            ids, texts, metas = self.store.all_chunks()
            if ids:
                bm25 = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
                bm25.index(self._tokenize(_indexed_texts(texts, metas)), show_progress=False)
            self._bm25 = bm25 if ids else None
            self._ids = ids
            self._sources = np.array([m.get("source") for m in metas], dtype=object)
            self._stamps = np.array(
                [m.get("published_ts", np.nan) for m in metas], dtype=np.float64
            )
            self._signature = signature

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
        return mask


def _indexed_texts(texts: list[str], metas: list[dict[str, Any]]) -> list[str]:
    # the title makes every chunk of an article findable by the article's subject
    return [f"{m.get('title', '')}\n{t}" for t, m in zip(texts, metas, strict=True)]
