"""Retrieval: vector search (Chroma) and BM25 (SQLite FTS5), fused by reciprocal rank at the
article level with a recency prior (`qa.retrieval.fusion`), then the best passages of the best articles.

Both searches give chunk ids with their article and date (the keyword index holds those), the
articles are ranked from them, and only the chunks the best articles show are read from Chroma.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np

from index.embed import Embedder
from index.index import Index
from index.keyword import Hit, KeywordFilter, KeywordIndex
from index.records import META_PREFIX
from index.store import Store, StoredChunk
from qa.domain import Filters, Passage
from qa.retrieval.config import RetrievalConfig
from qa.retrieval.fusion import RankedArticle, distinct, make_article, rank_groups
from qa.settings import RetrievalMode

MAX_GAP = 3  # characters between two chunks that still count as consecutive


def day_end_ts(day: date) -> int:
    return int(datetime.combine(day, time.max, tzinfo=UTC).timestamp())


def keyword_filter(filters: Filters | None) -> KeywordFilter | None:
    if filters is None:
        return None
    after = filters.published_after
    ends = [day for day in (filters.published_before, filters.as_of) if day is not None]
    return KeywordFilter(
        source=filters.source,
        min_ts=int(datetime.combine(after, time.min, tzinfo=UTC).timestamp()) if after else None,
        max_ts=day_end_ts(min(ends)) if ends else None,
        metadata=tuple(sorted(filters.metadata.items())),
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
    clauses += [{META_PREFIX + key: value} for key, value in filters.metadata]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    def __init__(
        self,
        embedder: Embedder,
        store: Store,
        index: Index | None = None,
        config: RetrievalConfig | None = None,
    ):
        """`index`: the keyword index and duplicate groups, read through its snapshot (None: a
        read-only one over `store`, with a temporary keyword file)."""
        self.embedder = embedder
        self.store = store
        self.index = index if index is not None else Index(store)
        self.config = config or RetrievalConfig()
        self._keyword_thread = ThreadPoolExecutor(4, thread_name_prefix="keyword")

    def search(
        self,
        query: str,
        top_k: int,
        filters: Filters | None = None,
        mode: RetrievalMode | None = None,
        recency_weight: float | None = None,
    ) -> list[Passage]:
        """`top_k` passages, at most `passages_per_article` from one article, best article
        first; `score` is the cosine similarity of passage and query. `recency_weight`: the
        fusion's recency weight for this question (None: the configured one)."""
        passages: list[Passage] = []
        articles = self.rank_articles(query, filters, mode, top_k, recency_weight)
        for article in articles:
            for chunk in _merge_adjacent(article.chunks[: self.config.passages_per_article]):
                if len(passages) == top_k:
                    return passages
                fields = {k: v for k, v in asdict(chunk).items() if k != "id"}
                passages.append(
                    Passage(
                        n=len(passages) + 1,
                        chunk_id=chunk.id,
                        also_reported_by=article.copies,
                        **fields,
                    )
                )
        return passages

    def rank_articles(
        self,
        query: str,
        filters: Filters | None = None,
        mode: RetrievalMode | None = None,
        limit: int | None = None,
        recency_weight: float | None = None,
    ) -> list[RankedArticle]:
        """The best `limit` articles (None: all found), best first."""
        mode = mode or self.config.mode
        snapshot = self.index.snapshot()  # one consistent view for the whole question
        bounds = keyword_filter(filters)
        # the keyword search runs in another thread meanwhile (SQLite lets go of the GIL)
        keyword = (
            self._keyword_thread.submit(snapshot.keyword.ranked, query, self.config.pool, bounds)
            if mode in ("bm25", "hybrid")
            else None
        )
        vector = self.embedder.embed([query])[0]
        lists: list[list[Hit]] = []
        if mode in ("vector", "hybrid"):
            lists.append(self._nearest(vector, bounds, snapshot.keyword))
        if keyword is not None:
            lists.append(keyword.result())
        as_of = filters.as_of if filters else None
        reference = as_of or datetime.now(UTC).date()
        latest = min(d for d in (filters.published_before, reference) if d) if filters else None
        duplicates = snapshot.duplicates
        config = self.config
        if recency_weight is not None:
            config = replace(config, recency_weight=recency_weight)
        best = rank_groups(lists, duplicates, config, reference)[:limit]
        similar = {h.id: h.score for h in lists[0]} if mode != "bm25" else {}
        read = self._read([a.chunks for a in best], vector, similar)
        articles = [
            make_article(a, chunks, duplicates, latest)
            for a, chunks in zip(best, read, strict=True)
        ]
        return [a for a in articles if a.chunks]

    def _read(
        self, hits: list[list[Hit]], vector: np.ndarray, similar: dict[str, float]
    ) -> list[list[StoredChunk]]:
        """Each article's best chunks read from Chroma, as many as it shows (reading all the
        articles' chunks took ~15 ms): more only when some repeat a better one."""
        want = self.config.passages_per_article
        read = self.store.read_chunks([h.id for ids in hits for h in ids[:want]], vector, similar)
        chunks = [[read[h.id] for h in ids[:want] if h.id in read] for ids in hits]
        for ids, mine in zip(hits, chunks, strict=True):
            if len(distinct(mine)) < want and len(ids) > want:
                rest = self.store.read_chunks([h.id for h in ids[want:]], vector, similar)
                mine += [rest[h.id] for h in ids[want:] if h.id in rest]
        return chunks

    def _nearest(
        self, vector: np.ndarray, bounds: KeywordFilter | None, keyword: KeywordIndex
    ) -> list[Hit]:
        """The `pool` nearest chunks that pass the filters, scored by cosine similarity.
        Chroma filters before its HNSW search (~330 ms at 59k chunks), so the `widen` × `pool`
        nearest are fetched unfiltered, ids only, and the keyword index, which holds every
        chunk's filter fields, tells which pass; only when too few do is Chroma's filtered
        search run."""
        pool = self.config.pool
        nearest = self.store.nearest(vector, pool * self.config.widen if bounds else pool)
        found = keyword.found([cid for cid, _ in nearest], bounds)
        if bounds is None or len(found) >= pool:
            hits = [found[cid]._replace(score=s) for cid, s in nearest if cid in found]
            return hits[:pool]
        return [
            Hit(c.id, c.doc_id, c.published, c.score)
            for c in self.store.query(vector, pool, chroma_where(bounds))
        ]


def _merge_adjacent(chunks: list[StoredChunk]) -> list[StoredChunk]:
    """Chunks of one article that overlap or meet become one passage, in reading order. Chunk
    texts are exact slices of the article, and what lies between two consecutive chunks is the
    whitespace between sentences: spaces of the same length keep every offset right."""
    merged: list[StoredChunk] = []
    for chunk in sorted(chunks, key=lambda c: c.start):
        last = merged[-1] if merged else None
        if last is not None and chunk.start <= last.end + MAX_GAP:
            if chunk.end > last.end:
                gap = " " * max(chunk.start - last.end, 0)
                last.text += gap + chunk.text[max(last.end - chunk.start, 0) :]
                last.end = chunk.end
            last.score = max(last.score, chunk.score)
            continue
        merged.append(StoredChunk(**asdict(chunk)))
    if len(merged) > 1:  # keep the better passage first
        rank = {c.id: i for i, c in enumerate(chunks)}
        merged.sort(key=lambda c: rank[c.id])
    return merged
