"""The timeline of a question or entity: the dated reports about it, one per story cluster,
oldest first (by when each story was first reported), each with the sentence that speaks to
the query.

Retrieval ranks articles as answers do (`Retriever.rank_articles`: vector + BM25, copies of one
wire story already collapsed into one article by the duplicate groups), so a timeline entry is
one story cluster: the copy that speaks, and the other outlets' copies beside it. The best
`limit` relevant clusters are then put in date order. Undated articles have no place on a
timeline and are left out."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from index.chunk import split_sentences
from index.dedup import Report
from index.store import StoredChunk
from qa.checking.tokens import tokenize
from qa.domain import Filters
from qa.retrieval.fusion import RankedArticle, distinct
from qa.retrieval.retriever import Retriever

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# articles ranked for each entry asked for: some of them fail the relevance test below
CANDIDATES_PER_ENTRY = 3
# an article belongs on the timeline when its title and best passages hold at least this share
# of the query's content words, or its best passage is this close to the query (MiniLM cosine):
# ranking alone always finds *something*, and a timeline of unrelated reports misleads
MIN_SHARE = 0.5
MIN_SIMILARITY = 0.5


class TimelineEntry(BaseModel):
    """One story cluster's report: `quote` is `text[start:end]` of the article `doc_id`."""

    doc_id: str
    chunk_id: str = Field(description="the passage the quote is from")
    title: str
    url: str | None = None
    source: str | None = None
    published: str = Field(description="ISO 8601 date (or datetime) of this report")
    first_reported: str = Field(
        description="the earliest date among this report and its copies: the timeline's order"
    )
    quote: str = Field(description="the passage's sentence most relevant to the query")
    start: int = Field(description="offset of the quote in the article's text")
    end: int
    score: float = Field(description="cosine similarity of the passage and the query")
    also_reported_by: list[Report] = Field(
        default_factory=list, description="other outlets' copies of the same story"
    )


class Timeline(BaseModel):
    query: str
    entries: list[TimelineEntry] = Field(description="oldest first")


@dataclass(frozen=True)
class _Quote:
    chunk: StoredChunk
    start: int  # offsets into the article's text
    end: int
    share: float


def query_stems(query: str) -> set[str]:
    return {t.stem for t in tokenize(query) if t.content}


def _share(wanted: set[str], text: str) -> float:
    if not wanted:
        return 0.0
    return len(wanted & query_stems(text)) / len(wanted)


def best_quote(wanted: set[str], chunks: list[StoredChunk]) -> _Quote | None:
    """The sentence with the largest share of the query's words; of equal ones, the one
    nearest the top of the article (news puts the point first). Chunk texts are exact slices
    of the article, so chunk offset + sentence offset is exact."""
    best: _Quote | None = None
    for chunk in sorted(chunks, key=lambda c: c.start):
        for span in split_sentences(chunk.text):
            share = _share(wanted, chunk.text[span.start : span.end])
            if best is None or share > best.share:
                best = _Quote(chunk, chunk.start + span.start, chunk.start + span.end, share)
    return best


def relevant(wanted: set[str], article: RankedArticle) -> bool:
    title = article.chunks[0].title if article.chunks else ""
    text = " ".join([title, *(c.text for c in article.chunks)])
    similarity = max((c.score for c in article.chunks), default=0.0)
    return _share(wanted, text) >= MIN_SHARE or similarity >= MIN_SIMILARITY


@dataclass
class _Pick:
    article: RankedArticle
    quote: _Quote
    # later reports whose passage repeats this one's (a copy republished after the duplicate
    # window, so not in the article's duplicate group)
    repeats: list[Report] = field(default_factory=list)

    @property
    def first_reported(self) -> str:
        """A story broke when its first copy appeared, though the longest copy speaks for it."""
        dates = [self.quote.chunk.published, *(c.published for c in self.article.copies)]
        return min(d for d in dates if d)


def build_timeline(
    retriever: Retriever, query: str, filters: Filters | None = None, limit: int = DEFAULT_LIMIT
) -> Timeline:
    """The best `limit` relevant story clusters for `query`, in date order (blocking: it
    embeds and searches)."""
    wanted = query_stems(query)
    ranked = retriever.rank_articles(query, filters, limit=limit * CANDIDATES_PER_ENTRY)
    chosen: list[_Pick] = []
    for article in ranked:
        if len(chosen) == limit:
            break
        dated = article.chunks and article.chunks[0].published
        if not dated or not relevant(wanted, article):
            continue
        quote = best_quote(wanted, article.chunks)
        if quote is not None:
            _add(chosen, _Pick(article, quote))
    chosen.sort(key=lambda pick: pick.first_reported)
    return Timeline(query=query, entries=[_entry(pick) for pick in chosen])


def _add(chosen: list[_Pick], pick: _Pick) -> None:
    """Add `pick`, unless its passage repeats a chosen one's (retrieval's rule for passages
    that are the same text, `distinct`): then the earlier report stays and lists the later."""
    for i, other in enumerate(chosen):
        if len(distinct([other.quote.chunk, pick.quote.chunk])) == 1:
            first, later = sorted((other, pick), key=lambda p: p.first_reported)
            first.repeats.append(_report(later.quote.chunk))
            chosen[i] = first
            return
    chosen.append(pick)


def _report(chunk: StoredChunk) -> Report:
    return Report(
        doc_id=chunk.doc_id,
        title=chunk.title,
        source=chunk.source,
        url=chunk.url,
        published=chunk.published,
    )


def _entry(pick: _Pick) -> TimelineEntry:
    chunk, quote = pick.quote.chunk, pick.quote
    offset = quote.start - chunk.start
    return TimelineEntry(
        doc_id=chunk.doc_id,
        chunk_id=chunk.id,
        title=chunk.title,
        url=chunk.url,
        source=chunk.source,
        published=chunk.published or "",
        first_reported=pick.first_reported,
        quote=chunk.text[offset : offset + quote.end - quote.start],
        start=quote.start,
        end=quote.end,
        score=max(c.score for c in pick.article.chunks),
        also_reported_by=[*pick.article.copies, *pick.repeats],
    )
