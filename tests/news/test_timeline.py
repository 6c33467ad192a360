"""The timeline over a small dated corpus (real embedder, embedded Chroma, the real keyword
index and duplicate groups): date order, one entry per story cluster, exact quotes, filters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.embed import Embedder
from index.index import Index
from index.ingest import Ingestor
from index.store import Store, make_client
from qa.domain import Filters
from qa.news.timeline import Timeline, build_timeline
from qa.retrieval.retriever import Retriever
from tests.utils.news import (
    LATER_REPORTS,
    REPRINT,
    STRIKE_QUERY,
    UNRELATED,
    WIRE_COPY,
    WIRE_REPORT,
    article_texts,
    timeline_docs,
)

CLUSTER = {WIRE_REPORT, WIRE_COPY}


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Retriever:
    path: Path = tmp_path_factory.mktemp("timeline")
    store = Store(make_client(path / "chroma"), "timeline")
    index = Index(store, Ingestor(embedder, store, 128, 24), path / "keyword.sqlite3")
    index.write(timeline_docs())
    return Retriever(embedder, store, index)


def ids(timeline: Timeline) -> list[str]:
    return [e.doc_id for e in timeline.entries]


def test_one_dated_report_per_story_cluster_oldest_first(retriever: Retriever) -> None:
    timeline = build_timeline(retriever, STRIKE_QUERY)
    first, *rest = timeline.entries
    assert first.doc_id in CLUSTER, "the wire report and its copy are one entry"
    assert [r.doc_id for r in first.also_reported_by] == list(CLUSTER - {first.doc_id})
    assert [e.doc_id for e in rest] == LATER_REPORTS
    assert first.first_reported == "2024-03-04", "the story broke with the wire report"
    dates = [e.first_reported for e in timeline.entries]
    assert dates == sorted(dates)
    assert not set(ids(timeline)) & set(UNRELATED), "a library reopening in Lisvane is no strike"


def test_quotes_are_exact_sentences_of_the_article(retriever: Retriever) -> None:
    texts = article_texts()
    timeline = build_timeline(retriever, STRIKE_QUERY)
    assert timeline.entries
    for entry in timeline.entries:
        assert texts[entry.doc_id][entry.start : entry.end] == entry.quote
        assert entry.quote.endswith(".") and "\n" not in entry.quote


def test_quote_is_the_sentence_the_query_is_about(retriever: Retriever) -> None:
    timeline = build_timeline(retriever, "When did the rail workers join the dockers?")
    spreads = next(e for e in timeline.entries if e.doc_id == "metro-strike-spreads")
    assert spreads.quote.startswith("The strike at the Port of Lisvane spread to the freight rail")


def test_filters_by_source_dates_and_as_of(retriever: Retriever) -> None:
    by_metro = build_timeline(retriever, STRIKE_QUERY, Filters(source="Metro Daily"))
    # the reprint is Metro Daily's own report of the end, with the wire's report filtered out
    assert ids(by_metro) == ["metro-strike-spreads", "metro-strike-talks", REPRINT]
    after = build_timeline(retriever, STRIKE_QUERY, Filters(published_after=date(2024, 3, 10)))
    assert ids(after) == ["metro-strike-talks", "wire-strike-ends"]
    window = Filters(published_after=date(2024, 3, 5), published_before=date(2024, 3, 12))
    between = build_timeline(retriever, STRIKE_QUERY, window)
    assert ids(between) == [WIRE_COPY, "metro-strike-spreads", "metro-strike-talks"]
    as_of = build_timeline(retriever, STRIKE_QUERY, Filters(as_of=date(2024, 3, 9)))
    assert ids(as_of)[1:] == ["metro-strike-spreads"]
    assert ids(as_of)[0] in CLUSTER


def test_limit_keeps_the_best_clusters_in_date_order(retriever: Retriever) -> None:
    timeline = build_timeline(retriever, "Lisvane port strike pay deal", limit=2)
    assert len(timeline.entries) == 2
    assert "wire-strike-ends" in ids(timeline)
    dates = [e.published for e in timeline.entries]
    assert dates == sorted(dates)


def test_nothing_relevant_is_an_empty_timeline(retriever: Retriever) -> None:
    assert build_timeline(retriever, "volcanic eruption in Iceland").entries == []


def test_a_later_reprint_is_listed_with_the_first_report_not_a_new_entry(
    retriever: Retriever,
) -> None:
    timeline = build_timeline(retriever, "Lisvane port strike pay deal")
    assert REPRINT not in ids(timeline), "a week later, outside the duplicate window"
    ends = next(e for e in timeline.entries if e.doc_id == "wire-strike-ends")
    assert REPRINT in [r.doc_id for r in ends.also_reported_by]
