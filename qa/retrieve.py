"""Hybrid retrieval: vector search (Chroma) and BM25 (bm25s), fused by reciprocal rank."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime, time
from typing import Any

from index.embed import Embedder
from index.keyword import KeywordFilter, KeywordIndex
from index.store import Store, StoredChunk
from qa.schemas import Filters, Passage

RRF_K = 60  # the usual constant of reciprocal rank fusion
DUPLICATE_JACCARD = 0.8  # word-set overlap above which two passages count as the same text
_WORD = re.compile(r"\w+")


def keyword_filter(filters: Filters | None) -> KeywordFilter | None:
    if filters is None:
        return None
    after, before = filters.published_after, filters.published_before
    return KeywordFilter(
        source=filters.source,
        min_ts=int(datetime.combine(after, time.min, tzinfo=UTC).timestamp()) if after else None,
        max_ts=int(datetime.combine(before, time.max, tzinfo=UTC).timestamp()) if before else None,
    )


def chroma_where(filters: KeywordFilter | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.source is not None:
        clauses.append({"source": filters.source})
    if filters.min_ts is not None:
        clauses.append({"published_ts": {"$gte": filters.min_ts}})
    if filters.max_ts is not None:
        clauses.append({"published_ts": {"$lte": filters.max_ts}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def reciprocal_rank_fusion(rankings: list[list[str]]) -> list[str]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores, key=lambda item: -scores[item])


class Retriever:
    def __init__(self, embedder: Embedder, store: Store, keyword: KeywordIndex | None = None):
        self.embedder = embedder
        self.store = store
        self.keyword = keyword if keyword is not None else KeywordIndex(store)

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        """`top_k` passages; `score` is the cosine similarity of passage and query."""
        vector = self.embedder.embed([query])[0]
        pool = max(3 * top_k, 20)
        bounds = keyword_filter(filters)
        dense = self.store.query(vector, pool, chroma_where(bounds))
        sparse = self.keyword.search(query, pool, bounds)
        fused = reciprocal_rank_fusion([[c.id for c in dense], [cid for cid, _ in sparse]])
        candidates = fused[: 2 * top_k]  # room to skip duplicates
        by_id: dict[str, StoredChunk] = {c.id: c for c in dense}
        missing = [cid for cid in candidates if cid not in by_id]
        by_id.update((c.id, c) for c in self.store.get_chunks(missing, vector))
        chosen = _without_near_duplicates([by_id[cid] for cid in candidates], top_k)
        return [
            Passage(n=n, chunk_id=cid, **{k: v for k, v in asdict(by_id[cid]).items() if k != "id"})
            for n, cid in enumerate(chosen, start=1)
        ]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _without_near_duplicates(chunks: list[StoredChunk], k: int) -> list[str]:
    """Skip a passage whose words mostly repeat a better-ranked one: the same wire story
    published by several outlets would otherwise fill the prompt with one report."""
    kept: list[tuple[str, set[str]]] = []
    for chunk in chunks:
        words = _words(chunk.text)
        if any(len(words & w) / max(len(words | w), 1) >= DUPLICATE_JACCARD for _, w in kept):
            continue
        kept.append((chunk.id, words))
        if len(kept) == k:
            break
    return [cid for cid, _ in kept]
