"""Real embedder + real Chroma (embedded and a `chroma run` server)."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from index.embed import MiniLMEmbedder
from index.ingest import Ingestor
from index.load import Document, iter_files, load_path
from index.store import Store, make_client
from qa.domain import Filters
from qa.retrieval.config import RetrievalConfig
from qa.retrieval.retriever import Retriever
from qa.settings import RETRIEVAL_MODES as MODES
from tests.utils.support import SAMPLE_ARTICLES, SAMPLE_DIR


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        client = make_client(tmp_path, url)
        name = f"t{abs(hash(request.node.name)) % 10**8}"
        return Store(client, name)
    return Store(make_client(tmp_path / "chroma"), "test")


def ingestor(embedder: MiniLMEmbedder, store: Store) -> Ingestor:
    return Ingestor(embedder, store, chunk_tokens=128, chunk_overlap=24)


def test_embeddings_are_normalised_and_meaningful(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.embed(
        ["rocket launchers sent to Russia", "artillery shipped to Moscow", "a marathon record"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


def test_padding_does_not_change_a_text_embedding(minilm: MiniLMEmbedder) -> None:
    alone = minilm.embed(["short text"])[0]
    batched = minilm.embed(["short text", "a much longer text " * 30])[0]
    assert float(alone @ batched) > 0.999


def test_ingest_search_reingest_update_delete(embedder: MiniLMEmbedder, store: Store) -> None:
    ing = ingestor(embedder, store)
    report = ing.ingest_paths([SAMPLE_DIR])
    assert len(report.added) == SAMPLE_ARTICLES and not report.failed
    total_chunks = store.chunks.count()
    assert total_chunks == report.chunks

    retriever = Retriever(embedder, store)
    top = retriever.search("What weapons were reportedly supplied to Russia?", 3)
    assert top[0].doc_id == "nk-russia-weapons-2024"
    assert any("240mm" in p.text for p in top)

    again = ing.ingest_paths([SAMPLE_DIR])
    assert len(again.unchanged) == SAMPLE_ARTICLES and not again.added and not again.updated
    assert store.chunks.count() == total_chunks

    old_ids = set(store.chunk_ids("marathon-record-2024"))
    changed = Document(
        id="marathon-record-2024", title="Marathon", text="A completely rewritten short story.",
        source="Sample Sports", published="2024-10-28",
    )  # fmt: skip
    outcome, n = ing.ingest_document(changed)
    assert outcome == "updated" and n == 1
    new_ids = set(store.chunk_ids("marathon-record-2024"))
    assert len(new_ids) == 1 and not (new_ids & old_ids)
    stored = store.get_document("marathon-record-2024")
    assert stored is not None and stored.document.text == changed.text

    assert store.delete_document("nk-russia-weapons-2024")
    assert store.chunk_ids("nk-russia-weapons-2024") == []
    assert store.get_document("nk-russia-weapons-2024") is None
    assert not store.delete_document("nk-russia-weapons-2024")
    hits = retriever.search("240mm multiple rocket launchers", 5)
    assert all(p.doc_id != "nk-russia-weapons-2024" for p in hits)


def test_filters_apply_in_vector_bm25_and_hybrid_modes(
    embedder: MiniLMEmbedder, store: Store
) -> None:
    ingestor(embedder, store).ingest_paths([SAMPLE_DIR])
    docs = {
        d.id: d for p in iter_files([SAMPLE_DIR]) for d in load_path(p) if isinstance(d, Document)
    }
    sport = {i for i, d in docs.items() if d.metadata.get("section") == "sport"}
    cases = [
        (Filters(source="Harbor Wire"), lambda d: d.source == "Harbor Wire"),
        (Filters(published_after=date(2024, 11, 1)), lambda d: d.published >= "2024-11-01"),
        (Filters(published_before=date(2024, 7, 31)), lambda d: d.published <= "2024-07-31"),
        (Filters(as_of=date(2024, 7, 31)), lambda d: d.published <= "2024-07-31"),
        (Filters(metadata={"section": "sport"}), lambda d: d.id in sport),
    ]
    for mode in MODES:
        retriever = Retriever(embedder, store, config=RetrievalConfig(mode=mode))
        for filters, allowed in cases:
            # BM25 drops stopwords, so it is asked words that each article uses
            found = {p.doc_id for p in retriever.search(BROAD_QUERY, 40, filters)}
            expected = {i for i, d in docs.items() if allowed(d)}
            assert found and found <= expected, (mode, filters)
            if mode != "bm25":  # dense search returns everything that passes the filter
                assert found == expected - _collapsed_copies(expected), (mode, filters)


BROAD_QUERY = "said million city per cent year people new first officials"


def _collapsed_copies(ids: set[str]) -> set[str]:
    # the shorter copy of the sample's wire story is listed under the other, not on its own
    pair = {"paylark-outage-harborwire-2024", "paylark-outage-valleytimes-2024"}
    return {"paylark-outage-valleytimes-2024"} if pair <= ids else set()


def test_keyword_search_finds_rare_terms_and_follows_changes(
    embedder: MiniLMEmbedder, store: Store
) -> None:
    from index.index import Index
    from index.keyword import KeywordFilter

    index = Index(store, ingestor(embedder, store))
    index.write_paths([SAMPLE_DIR])
    keyword = index.snapshot().keyword
    [(top, score), *_] = keyword.search("IRIS-T system", 3)
    assert top.startswith("ukraine-air-defence-2024:") and score > 0
    assert keyword.search("Patriot batteries", 3, KeywordFilter(source="Sample Sports")) == []
    assert keyword.search("zzzz qqqq", 3) == []
    index.delete("ukraine-air-defence-2024")
    keyword = index.snapshot().keyword
    assert all(not cid.startswith("ukraine") for cid, _ in keyword.search("IRIS-T system", 3))


def test_hybrid_retrieval_ranks_exact_names_and_scores_by_similarity(
    embedder: MiniLMEmbedder, store: Store
) -> None:
    ingestor(embedder, store).ingest_paths([SAMPLE_DIR])
    hits = Retriever(embedder, store).search("Who is Grace Wanjiru?", 2)
    assert hits[0].doc_id == "marathon-record-2024"
    assert [h.n for h in hits] == [1, 2]
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


def test_duplicate_wire_story_takes_one_slot(embedder: MiniLMEmbedder, store: Store) -> None:
    ing = ingestor(embedder, store)
    ing.ingest_paths([SAMPLE_DIR])
    [flood] = [
        d
        for d in load_path(SAMPLE_DIR / "more-articles.jsonl")
        if isinstance(d, Document) and d.id.startswith("city")
    ]
    copy = flood.model_copy(update={"id": "flood-wire-copy", "source": "Other Outlet", "url": None})
    ing.ingest_document(copy)
    hits = Retriever(embedder, store).search("Marlow flood barrier river record", 3)
    texts = [h.text for h in hits]
    assert len(hits) == 3 and len(set(texts)) == 3  # without the check, the copy's chunks repeat
    assert hits[0].doc_id in {"city-flood-barrier-2024", "flood-wire-copy"}


def test_an_update_drops_metadata_the_document_no_longer_has(
    embedder: MiniLMEmbedder, store: Store
) -> None:
    from index.index import Index

    index = Index(store, ingestor(embedder, store))
    text = "The Quillon ferry sails twice a day to Marlow, the operator said on Friday."
    first = Document(id="ferry", title="Ferry", text=text, url="https://example.com/f",
                     source="Harbor Wire", metadata={"section": "transport", "region": "north"})  # fmt: skip
    index.write([first])
    r = Retriever(embedder, store, index)
    north = Filters(metadata={"region": "north"})
    assert [p.doc_id for p in r.search("Quillon ferry", 3, north)] == ["ferry"]
    index.write([Document(id="ferry", title="Ferry", text=text, metadata={"section": "transport"})])
    assert r.search("Quillon ferry", 3, north) == []
    [passage] = r.search("Quillon ferry", 3, Filters(metadata={"section": "transport"}))
    assert passage.url is None and passage.source is None
    assert (
        store.chunks.get(where={"doc_id": "ferry"}, include=["metadatas"])["metadatas"][0].get(
            "m_region"
        )
        is None
    )
