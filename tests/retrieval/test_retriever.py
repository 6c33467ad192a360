"""Article-level retrieval on the sample corpus: duplicates, dates, caps, and the BM25 index
kept in step with Chroma (real embedder, embedded Chroma)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.chunk import Chunk
from index.embed import MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.keyword import Hit
from index.load import Document
from index.store import Store, make_client
from qa.domain import Filters
from qa.retrieval.retriever import (
    RetrievalConfig,
    Retriever,
    _merge_adjacent,
    chroma_where,
    keyword_filter,
)
from tests.utils.support import SAMPLE_DIR

WIRE = "paylark-outage-harborwire-2024"  # the longer copy of the sample's wire story
WIRE_COPY = "paylark-outage-valleytimes-2024"
EARLY_STRIKE = "calderport-dock-strike-2024-11-26"
LATE_STRIKE = "calderport-dock-strike-2024-12-03"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Path:
    """The sample corpus ingested once; tests open their own Store over a copy when writing."""
    path = tmp_path_factory.mktemp("corpus")
    store = Store(make_client(path / "chroma"), "sample")
    Ingestor(embedder, store, 128, 24).ingest_paths([SAMPLE_DIR])
    return path


def open_store(path: Path) -> Store:
    return Store(make_client(path / "chroma"), "sample")


def retriever(path: Path, embedder: MiniLMEmbedder, **config: object) -> Retriever:
    store = open_store(path)
    index = Index(store, None, path / "bm25" / "keyword.sqlite3")
    return Retriever(embedder, store, index, RetrievalConfig(**config))  # type: ignore[arg-type]


def test_wire_copies_are_one_result_listing_the_other_outlet(
    corpus: Path, embedder: MiniLMEmbedder
) -> None:
    passages = retriever(corpus, embedder).search("Why did the Paylark app go down?", 6)
    from_story = {p.doc_id for p in passages} & {WIRE, WIRE_COPY}
    assert from_story == {WIRE}, "one copy speaks for the story"
    first = next(p for p in passages if p.doc_id == WIRE)
    assert [r.doc_id for r in first.also_reported_by] == [WIRE_COPY]
    assert first.also_reported_by[0].source == "Valley Times"


def test_as_of_hides_later_articles_and_their_copies(
    corpus: Path, embedder: MiniLMEmbedder
) -> None:
    search = retriever(corpus, embedder).search
    before = search("Paylark outage", 10, Filters(as_of=date(2024, 10, 1)))
    assert WIRE_COPY not in {p.doc_id for p in before}
    assert all(not p.also_reported_by for p in before if p.doc_id == WIRE)
    strike = search(
        "How many dock workers are on strike in Calderport?", 4, Filters(as_of=date(2024, 11, 28))
    )
    assert LATE_STRIKE not in {p.doc_id for p in strike}
    assert strike[0].doc_id == EARLY_STRIKE


def test_latest_report_ranks_first_when_asked_after_both(
    corpus: Path, embedder: MiniLMEmbedder
) -> None:
    question = "How many workers are on strike at the Calderport docks now?"
    with_prior = retriever(corpus, embedder).rank_articles(
        question, Filters(as_of=date(2024, 12, 5))
    )
    order = [a.doc_id for a in with_prior]
    assert order.index(LATE_STRIKE) < order.index(EARLY_STRIKE)


def test_recency_is_measured_from_as_of(corpus: Path, embedder: MiniLMEmbedder) -> None:
    r = retriever(corpus, embedder, recency_weight=5.0)  # strong enough to decide the order
    question = "Calderport dock strike"
    late = [a.doc_id for a in r.rank_articles(question, Filters(as_of=date(2024, 12, 4)))]
    assert late.index(LATE_STRIKE) < late.index(EARLY_STRIKE)
    # a year later both are old: the prior no longer separates them much, the text decides
    far = r.rank_articles(question, Filters(as_of=date(2026, 1, 1)))
    scores = {a.doc_id: a.score for a in far}
    assert abs(scores[LATE_STRIKE] - scores[EARLY_STRIKE]) < 0.01


def test_one_article_gives_at_most_the_capped_number_of_passages(
    corpus: Path, embedder: MiniLMEmbedder
) -> None:
    for cap in (1, 2):
        passages = retriever(corpus, embedder, passages_per_article=cap).search(
            "North Korea troops weapons Russia drones", 8
        )
        per_article: dict[str, int] = {}
        for p in passages:
            per_article[p.doc_id] = per_article.get(p.doc_id, 0) + 1
        assert max(per_article.values()) <= cap
        assert [p.n for p in passages] == list(range(1, len(passages) + 1))


def test_adjacent_chunks_merge_into_one_exact_passage(
    corpus: Path, embedder: MiniLMEmbedder
) -> None:
    store = open_store(corpus)
    doc = store.get_document("nk-russia-weapons-2024")
    assert doc is not None
    vector = embedder.embed(["weapons"])[0]
    chunks = sorted(
        store.get_chunks(store.chunk_ids(doc.document.id), vector), key=lambda c: c.start
    )
    assert len(chunks) >= 3
    text = doc.document.text
    merged = _merge_adjacent([chunks[1], chunks[0]])
    assert len(merged) == 1 and (merged[0].start, merged[0].end) == (chunks[0].start, chunks[1].end)
    # the same text up to whitespace, at the same offsets (citations map into the article)
    assert len(merged[0].text) == chunks[1].end - chunks[0].start
    assert merged[0].text.split() == text[chunks[0].start : chunks[1].end].split()
    apart = _merge_adjacent([chunks[2], chunks[0]])
    assert [c.id for c in apart] == [chunks[2].id, chunks[0].id], "better passage stays first"


def test_ingest_update_and_delete_keep_both_indexes_in_step(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    store = Store(make_client(tmp_path / "chroma"), "sync")
    index = Index(store, Ingestor(embedder, store, 128, 24), tmp_path / "bm25" / "k.sqlite3")
    index.write_paths([SAMPLE_DIR])
    r = Retriever(embedder, store, index)
    modes = ("vector", "bm25", "hybrid")

    def found(query: str) -> dict[str, set[str]]:
        return {m: {p.doc_id for p in r.search(query, 40, mode=m)} for m in modes}  # type: ignore[arg-type]

    old = Document(id="ferry", title="Ferry", text="The Quillon ferry sails twice a day to Marlow.")
    index.write([old])
    assert all("ferry" in ids for ids in found("Quillon ferry").values())
    new = Document(
        id="ferry", title="Ferry", text="The Brask hovercraft replaced the ferry service."
    )
    index.write([new])
    assert all("ferry" in ids for ids in found("Brask hovercraft").values())
    bm25_old = {cid for cid, _ in index.snapshot().keyword.search("Quillon", 5)}
    assert not bm25_old, "the replaced text is gone from BM25"
    assert all(
        c.text != old.text
        for c in store.get_chunks(store.chunk_ids("ferry"), embedder.embed(["x"])[0])
    )
    index.delete("ferry")
    assert all("ferry" not in ids for ids in found("Brask hovercraft").values())
    assert store.chunk_ids("ferry") == [] and store.get_document("ferry") is None


def test_records_of_an_older_index_format_are_refreshed_without_reembedding(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    store = Store(make_client(tmp_path / "chroma"), "upgrade")
    ingest = Ingestor(embedder, store, 128, 24)
    doc = Document(
        id="tram",
        title="Tram line opens",
        text="The new tram line opened on Monday with 14 stops. " * 8,
        metadata={"section": "transport"},
    )
    ingest.ingest_document(doc)
    before = store.chunks.get(ids=store.chunk_ids("tram"), include=["embeddings"])["embeddings"]
    # what version 1 stored: no format, no signature, no metadata on the chunks
    store.documents.update(ids=["tram"], metadatas=[{"index_format": 1, "minhash": ""}])
    ids = store.chunk_ids("tram")
    store.chunks.update(ids=ids, metadatas=[{"m_section": "none"} for _ in ids])
    assert ingest.ingest_document(doc) == ("updated", 0)
    after = store.chunks.get(ids=store.chunk_ids("tram"), include=["embeddings", "metadatas"])
    assert (after["embeddings"] == before).all()
    assert all(m["m_section"] == "transport" for m in after["metadatas"])
    assert store.index_state("tram") == (doc.content_hash, 2)
    assert ingest.ingest_document(doc) == ("unchanged", 0)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(as_of=date(2024, 11, 28)),  # most chunks pass: filtered after an unfiltered search
        Filters(source="Valley Times"),  # few pass: Chroma's filtered search is the fallback
    ],
)
def test_a_widened_search_filters_like_chromas_own_where(
    corpus: Path, embedder: MiniLMEmbedder, filters: Filters
) -> None:
    search = retriever(corpus, embedder, pool=10, widen=3)
    vector = embedder.embed(["dock workers strike"])[0]
    bounds = keyword_filter(filters)
    exact = search.store.query(vector, 10, chroma_where(bounds))
    widened = search._nearest(vector, bounds, search.index.snapshot().keyword)
    assert [c.id for c in widened] == [c.id for c in exact] and exact
    assert [c.score for c in widened] == pytest.approx([c.score for c in exact], abs=1e-3)
    assert [(c.doc_id, c.published) for c in widened] == [(c.doc_id, c.published) for c in exact]


@pytest.mark.parametrize("mode", ["vector", "bm25", "hybrid"])
def test_the_best_articles_alone_are_ranked_as_among_all(
    corpus: Path, embedder: MiniLMEmbedder, mode: str
) -> None:
    r = retriever(corpus, embedder)
    for question, filters in [
        ("Why did the Paylark app go down?", None),
        ("How many dock workers are on strike?", Filters(as_of=date(2024, 12, 5))),
    ]:
        everything = r.rank_articles(question, filters, mode)  # type: ignore[arg-type]
        best = r.rank_articles(question, filters, mode, limit=3)  # type: ignore[arg-type]
        assert len(best) == 3 < len(everything)
        for a, b in zip(best, everything, strict=False):
            assert (a.doc_id, a.score, a.copies) == (b.doc_id, b.score, b.copies)
            assert [c.id for c in a.chunks[:2]] == [c.id for c in b.chunks[:2]]


def test_a_chunk_repeating_a_better_one_makes_the_next_one_read(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    store = Store(make_client(tmp_path / "chroma"), "repeats")
    doc = Document(id="tram", title="Tram", text="x", published="2024-05-01")
    texts = ["Zorblat trams run all night.", "Zorblat trams run all night.", "Tickets cost 2."]
    chunks = [
        Chunk(f"tram:{i}", "tram", i, t, 30 * i, 30 * i + len(t)) for i, t in enumerate(texts)
    ]
    store.put_document(doc, chunks, embedder.embed(texts))
    r = Retriever(embedder, store, Index(store, None, tmp_path / "k.sqlite3"))
    hits = [Hit(c.id, "tram", doc.published, 0.0) for c in chunks]
    vector = embedder.embed(["night trams"])[0]
    read = r._read([hits], vector, {})[0]
    assert [c.id for c in read] == ["tram:0", "tram:1", "tram:2"]
    assert read[0].score == pytest.approx(float(embedder.embed([texts[0]])[0] @ vector), abs=1e-3)
    distinct = [hits[0], hits[2], hits[1]]
    assert [c.id for c in r._read([distinct], vector, {})[0]] == ["tram:0", "tram:2"]


def test_an_empty_store_finds_nothing(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    store = Store(make_client(tmp_path / "chroma"), "empty")
    r = Retriever(embedder, store, Index(store, None, tmp_path / "k.sqlite3"))
    for mode in ("vector", "bm25", "hybrid"):
        assert r.search("dock strike", 4, mode=mode) == []  # type: ignore[arg-type]
        assert r.search("dock strike", 4, Filters(as_of=date(2024, 1, 1)), mode=mode) == []  # type: ignore[arg-type]
    assert store.query(embedder.embed(["x"])[0], 5, {"source": "CNN"}) == []
