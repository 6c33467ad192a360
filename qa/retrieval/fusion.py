"""Reciprocal rank fusion of chunk rankings at the article level, with a recency prior.

Articles, not chunks, are ranked: an article counts once however many of its chunks match, and
copies of one wire story count as one article (the preferred copy speaks, the others are listed).
Ranking needs only each chunk's id, article and date, so it runs on the keyword index's records
(`Hit`) before any text is read; `make_article` then takes the chunks read for an article."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Generic, Protocol, TypeVar

from index.dedup import DuplicateGroups
from index.store import StoredChunk
from qa.domain import Report
from qa.retrieval.config import RetrievalConfig

RRF_K = 60  # the usual constant of reciprocal rank fusion
DUPLICATE_JACCARD = 0.8  # word-set overlap above which two passages count as the same text
_WORD = re.compile(r"\w+")


class Ranked(Protocol):
    """What ranking needs of a chunk: a keyword `Hit` or a `StoredChunk`."""

    @property
    def id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def published(self) -> str | None: ...


R = TypeVar("R", bound=Ranked)


@dataclass
class Fused(Generic[R]):
    group: str
    speaker: str  # the copy whose chunks are shown
    score: float
    chunks: list[R]  # the speaker's matching chunks, best first


@dataclass
class RankedArticle:
    doc_id: str
    score: float
    # this article's matching chunks, best first, none repeating a better one (`Retriever`
    # reads only the first `passages_per_article` of them)
    chunks: list[StoredChunk]
    copies: list[Report]  # other outlets' copies of the same story


def article_order(chunks: list[R]) -> list[str]:
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


def rank_groups(
    lists: list[list[R]], duplicates: DuplicateGroups, config: RetrievalConfig, reference: date
) -> list[Fused[R]]:
    """Articles by fused rank of the chunk rankings in `lists`, best first."""
    scores: dict[str, float] = {}
    chunks: dict[str, dict[str, R]] = {}
    chunk_score: dict[str, float] = {}
    for ranked in lists:
        groups = dict.fromkeys(duplicates.group(d) for d in article_order(ranked))
        for rank, group in enumerate(groups):
            scores[group] = scores.get(group, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, chunk in enumerate(ranked):
            chunks.setdefault(duplicates.group(chunk.doc_id), {})[chunk.id] = chunk
            chunk_score[chunk.id] = chunk_score.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
    weight = config.recency_weight
    articles: list[Fused[R]] = []
    for group, found in chunks.items():
        speaker = _speaker(duplicates, group, found)
        mine = sorted(
            (c for c in found.values() if c.doc_id == speaker), key=lambda c: -chunk_score[c.id]
        )
        age = age_days(mine[0].published, reference)
        if age is not None and weight:
            half_life = config.recency_half_life_days
            scores[group] += weight / (RRF_K + 1) * math.exp(-age / half_life)
        articles.append(Fused(group, speaker, scores[group], mine))
    articles.sort(key=lambda a: -a.score)
    return articles


def make_article(
    fused: Fused[R], chunks: list[StoredChunk], duplicates: DuplicateGroups, latest: date | None
) -> RankedArticle:
    """`latest`: copies published after it are not listed."""
    copies: list[Report] = [
        c
        for c in duplicates.copies(fused.group)
        if c.doc_id != fused.speaker and not _after(c.published, latest)
    ]
    return RankedArticle(fused.speaker, fused.score, distinct(chunks), copies)


def fuse(
    lists: list[list[StoredChunk]],
    duplicates: DuplicateGroups,
    config: RetrievalConfig,
    reference: date,
    latest: date | None,
) -> list[RankedArticle]:
    """`rank_groups` and `make_article` over chunks already read."""
    ranked = rank_groups(lists, duplicates, config, reference)
    return [make_article(a, a.chunks, duplicates, latest) for a in ranked]


def _speaker(duplicates: DuplicateGroups, group: str, found: dict[str, R]) -> str:
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


def distinct(chunks: list[StoredChunk]) -> list[StoredChunk]:
    """Skip a chunk whose words mostly repeat a better one (boilerplate repeated in an article)."""
    kept: list[tuple[StoredChunk, set[str]]] = []
    for chunk in chunks:
        words = _words(chunk.text)
        if any(len(words & w) / max(len(words | w), 1) >= DUPLICATE_JACCARD for _, w in kept):
            continue
        kept.append((chunk, words))
    return [c for c, _ in kept]
