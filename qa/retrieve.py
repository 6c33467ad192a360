"""Retrieval: vector search (Chroma) and BM25 (bm25s), fused by reciprocal rank at the article
level with a recency prior, then the best passages of the best articles.

Articles, not chunks, are ranked: an article counts once however many of its chunks match, and
copies of one wire story count as one article (the earliest copy speaks, the others are listed).
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

import numpy as np

from index.dedup import DuplicateGroups
from index.embed import Embedder
from index.index import Index
from index.keyword import KeywordFilter, KeywordIndex
from index.store import META_PREFIX, Store, StoredChunk
from qa.schemas import Filters, Passage, Report

Mode = Literal["vector", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("vector", "bm25", "hybrid")
RRF_K = 60  # the usual constant of reciprocal rank fusion
DUPLICATE_JACCARD = 0.8  # word-set overlap above which two passages count as the same text
MAX_GAP = 3  # characters between two chunks that still count as consecutive
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RetrievalConfig:
    mode: Mode = "hybrid"
    passages_per_article: int = 2
    # a fresh article gains up to this share of a first place; measured on news-dev (README)
    recency_weight: float = 0.5
    recency_half_life_days: float = 30.0
    pool: int = 200  # chunks fetched from each index before fusion (200 measured above 100)
    # a filtered vector search fetches this many times `pool` unfiltered and filters them
    # (Retriever._nearest); measured in the README
    widen: int = 3


@dataclass
class RankedArticle:
    doc_id: str
    score: float
    chunks: list[StoredChunk]  # this article's matching chunks, best first
    copies: list[Report]  # other outlets' copies of the same story


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


def article_order(chunks: list[StoredChunk]) -> list[str]:
    """Article ids in the order their first chunk appears."""
    return list(dict.fromkeys(c.doc_id for c in chunks))


def age_days(published: str | None, reference: date) -> float | None:
    if not published:
        return None
    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return None
    return max((reference - day).days, 0)


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
        self, query: str, top_k: int, filters: Filters | None = None, mode: Mode | None = None
    ) -> list[Passage]:
        """`top_k` passages, at most `passages_per_article` from one article, best article
        first; `score` is the cosine similarity of passage and query."""
        passages: list[Passage] = []
        for article in self.rank_articles(query, filters, mode):
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
        self, query: str, filters: Filters | None = None, mode: Mode | None = None
    ) -> list[RankedArticle]:
        mode = mode or self.config.mode
        snapshot = self.index.snapshot()  # one consistent view for the whole question
        bounds = keyword_filter(filters)
        # the keyword search runs in another thread meanwhile (SQLite lets go of the GIL)
        keyword = (
            self._keyword_thread.submit(snapshot.keyword.search, query, self.config.pool, bounds)
            if mode in ("bm25", "hybrid")
            else None
        )
        vector = self.embedder.embed([query])[0]
        lists: list[list[StoredChunk]] = []
        if mode in ("vector", "hybrid"):
            lists.append(self._nearest(vector, bounds, snapshot.keyword))
        if keyword is not None:
            hits = [cid for cid, _ in keyword.result()]
            known = {c.id: c for chunks in lists for c in chunks}
            known.update(
                (c.id, c)
                for c in self.store.get_chunks([cid for cid in hits if cid not in known], vector)
            )
            lists.append([known[cid] for cid in hits if cid in known])
        as_of = filters.as_of if filters else None
        reference = as_of or datetime.now(UTC).date()
        latest = min(d for d in (filters.published_before, reference) if d) if filters else None
        return fuse(lists, snapshot.duplicates, self.config, reference, latest)

    def _nearest(
        self, vector: np.ndarray, bounds: KeywordFilter | None, keyword: KeywordIndex
    ) -> list[StoredChunk]:
        """The `pool` nearest chunks that pass the filters. Chroma filters before its HNSW
        search (~330 ms at 59k chunks), so the `widen` × `pool` nearest are fetched unfiltered
        and the keyword index, which holds every chunk's filter fields, tells which pass; only
        when too few do is Chroma's filtered search run."""
        pool = self.config.pool
        if bounds is None:
            return self.store.query(vector, pool)
        nearest = self.store.nearest(vector, pool * self.config.widen)
        kept = set(keyword.admitted([cid for cid, _ in nearest], bounds))
        if len(kept) >= pool:
            return self.store.chunks_by_id([(c, s) for c, s in nearest if c in kept][:pool])
        return self.store.query(vector, pool, chroma_where(bounds))


def fuse(
    lists: list[list[StoredChunk]],
    duplicates: DuplicateGroups,
    config: RetrievalConfig,
    reference: date,
    latest: date | None,
) -> list[RankedArticle]:
    """Articles by fused rank of the chunk rankings in `lists`; `latest`: copies published after
    it are not listed."""
    scores: dict[str, float] = {}
    chunks: dict[str, dict[str, StoredChunk]] = {}
    chunk_score: dict[str, float] = {}
    for ranked in lists:
        groups = dict.fromkeys(duplicates.group(d) for d in article_order(ranked))
        for rank, group in enumerate(groups):
            scores[group] = scores.get(group, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, chunk in enumerate(ranked):
            chunks.setdefault(duplicates.group(chunk.doc_id), {})[chunk.id] = chunk
            chunk_score[chunk.id] = chunk_score.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
    weight = config.recency_weight
    articles: list[RankedArticle] = []
    for group, found in chunks.items():
        speaker = _speaker(duplicates, group, found)
        mine = sorted(
            (c for c in found.values() if c.doc_id == speaker), key=lambda c: -chunk_score[c.id]
        )
        age = age_days(mine[0].published, reference)
        if age is not None and weight:
            half_life = config.recency_half_life_days
            scores[group] += weight / (RRF_K + 1) * math.exp(-age / half_life)
        copies: list[Report] = [
            c
            for c in duplicates.copies(group)
            if c.doc_id != speaker and not _after(c.published, latest)
        ]
        articles.append(RankedArticle(speaker, scores[group], _distinct(mine), copies))
    articles.sort(key=lambda a: -a.score)
    return articles


def _speaker(duplicates: DuplicateGroups, group: str, found: dict[str, StoredChunk]) -> str:
    """The copy whose passages are shown: the preferred copy among those that matched."""
    matched = {c.doc_id for c in found.values()}
    for copy in duplicates.copies(group):
        if copy.doc_id in matched:
            return copy.doc_id
    return next(iter(matched))


def _after(published: str | None, latest: date | None) -> bool:
    return bool(latest and published and published[:10] > latest.isoformat())


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _distinct(chunks: list[StoredChunk]) -> list[StoredChunk]:
    """Skip a chunk whose words mostly repeat a better one (boilerplate repeated in an article)."""
    kept: list[tuple[StoredChunk, set[str]]] = []
    for chunk in chunks:
        words = _words(chunk.text)
        if any(len(words & w) / max(len(words | w), 1) >= DUPLICATE_JACCARD for _, w in kept):
            continue
        kept.append((chunk, words))
    return [c for c, _ in kept]


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
