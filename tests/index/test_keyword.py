"""The keyword index (SQLite FTS5) on its own, and the index writer over a real embedded Chroma:
document-level add/delete/update, filters, persistence, resync, the change log, snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from index.dedup import DuplicateFinder, find_groups, record
from index.embed import MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.keyword import KeywordChunk, KeywordFilter, KeywordIndex
from index.load import Document, iter_files, load_path
from index.records import chunk_metadata
from index.store import Store, make_client
from tests.utils.support import SAMPLE_DIR


def rows(doc: Document, *texts: str) -> list[KeywordChunk]:
    meta = chunk_metadata(doc)
    return [KeywordChunk.from_chroma(f"{doc.id}:{i}", t, meta) for i, t in enumerate(texts)]


FERRY = Document(
    id="ferry", title="Ferry news", text="x", source="Harbor Wire",
    published="2024-05-01", metadata={"section": "transport", "lanes": 2, "night": True},
)  # fmt: skip
TRAM = Document(id="tram", title="Tram news", text="x", published="2024-06-01")
UNDATED = Document(id="note", title="Undated note", text="x", metadata={"section": "transport"})


def ids(hits: list[tuple[str, float]]) -> list[str]:
    return [cid for cid, _ in hits]


def test_add_search_update_delete_touch_only_one_document(tmp_path: Path) -> None:
    keyword = KeywordIndex(tmp_path / "k.sqlite3")
    keyword.apply(rows(FERRY, "The Quillon ferry sails to Marlow.", "Tickets cost more."))
    keyword.apply(rows(TRAM, "The Quillon tram opens in Marlow.", "Trams are quiet."))
    hits = keyword.search("Quillon ferries", 5)
    assert ids(hits)[0] == "ferry:0" and hits[0][1] > hits[-1][1] > 0  # best first
    assert set(ids(keyword.search("Quillon", 5))) == {"ferry:0", "tram:0"}
    assert keyword.search("zzzz qqqq", 5) == [] and keyword.search("the and of", 5) == []
    assert ids(keyword.search("ticket", 5)) == ["ferry:1"], "stemmed: tickets ~ ticket"
    assert ids(keyword.search("news", 1)) != [], "the title is indexed with every chunk"

    # an update replaces the document's rows; the other document is untouched
    keyword.apply(rows(FERRY, "The Brask hovercraft replaced it."), drop_docs=["ferry"])
    assert keyword.search("tickets", 5) == []
    assert ids(keyword.search("Brask", 5)) == ["ferry:0"]
    assert set(ids(keyword.search("Quillon", 5))) == {"tram:0"}
    keyword.apply((), drop_docs=["tram"])
    assert keyword.search("Quillon", 5) == [] and keyword.count() == 1
    keyword.apply((), drop_chunks=["ferry:0"])
    assert keyword.count() == 0


def test_filters_source_dates_and_metadata(tmp_path: Path) -> None:
    keyword = KeywordIndex(tmp_path / "k.sqlite3")
    for doc in (FERRY, TRAM, UNDATED):
        keyword.apply(rows(doc, "Marlow transport plans were announced."))

    def found(**bounds: object) -> set[str]:
        hits = keyword.search("Marlow transport", 10, KeywordFilter(**bounds))  # type: ignore[arg-type]
        by_search = {cid.split(":")[0] for cid in ids(hits)}
        # the same filter over given ids (vector hits), in their order, unknown ids left out
        given = ["tram:0", "unknown:0", "note:0", "ferry:0"]
        passed = keyword.found(given, KeywordFilter(**bounds))  # type: ignore[arg-type]
        assert set(passed) == {cid for cid in given if cid.split(":")[0] in by_search}
        return by_search

    may_end, june = 1714608000, 1717200000  # 2024-05-02, 2024-06-01 (UTC)
    assert found() == {"ferry", "tram", "note"}
    assert found(source="Harbor Wire") == {"ferry"}
    assert found(max_ts=may_end) == {"ferry"}, "undated articles fail a date filter"
    assert found(min_ts=june) == {"tram"}
    assert found(metadata=(("section", "transport"),)) == {"ferry", "note"}
    assert found(metadata=(("section", "transport"), ("lanes", 2), ("night", True))) == {"ferry"}
    assert found(metadata=(("lanes", "2"),)) == set(), "a string is not the number"
    assert found(metadata=(("section", "sport"),)) == set()


def test_saved_index_is_reused_and_a_new_format_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "bm25" / "k.sqlite3"
    KeywordIndex(path).apply(rows(FERRY, "The Quillon ferry sails to Marlow."))
    reopened = KeywordIndex(path)
    assert ids(reopened.search("Quillon", 3)) == ["ferry:0"]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE state SET value = 'old' WHERE key = 'format'")
    assert KeywordIndex(path).count() == 0, "a file of another format is emptied, then refilled"


def test_ranked_and_found_give_each_chunks_article_and_day(tmp_path: Path) -> None:
    keyword = KeywordIndex(tmp_path / "k.sqlite3")
    keyword.apply(rows(FERRY, "The Quillon ferry sails to Marlow.", "Tickets cost more."))
    keyword.apply(rows(UNDATED, "A Quillon note."))
    best = keyword.ranked("Quillon", 5)
    assert sorted((h.id, h.doc_id, h.published or "") for h in best) == [
        ("ferry:0", "ferry", "2024-05-01"),
        ("note:0", "note", ""),
    ]
    assert [(h.id, h.score) for h in best] == keyword.search("Quillon", 5)
    found = keyword.found(["note:0", "unknown:0", "ferry:1"], None)
    assert found == {"note:0": ("note:0", "note", None, 0.0), "ferry:1": found["ferry:1"]}
    assert found["ferry:1"].published == "2024-05-01"


def test_scoring_in_parts_ranks_as_scoring_at_once(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite3"
    docs = [d for p in iter_files([SAMPLE_DIR]) for d in load_path(p) if isinstance(d, Document)]
    KeywordIndex(path).apply([r for doc in docs for r in rows(doc, doc.text[:400], doc.text[400:])])
    whole, parted = KeywordIndex(path, parts=1), KeywordIndex(path, parts=3)
    for question, filters in [
        ("dock workers strike pay", None),
        ("Paylark app outage", KeywordFilter(max_ts=1727740800)),
        ("the", None),
    ]:
        for k in (1, 5, 200):
            assert parted.ranked(question, k, filters) == whole.ranked(question, k, filters)
    assert whole.ranked("dock workers strike pay", 200) and parted.ranked("zzqx", 5) == []


def test_a_file_of_the_previous_schema_is_rebuilt_with_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite3"
    with sqlite3.connect(path) as db:  # what format fts5-1 created: no published column
        db.executescript(
            "CREATE TABLE chunks(row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " doc_id TEXT NOT NULL, source TEXT, ts INTEGER);"
            "CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO state VALUES ('format', 'fts5-1');"
            "INSERT INTO chunks(id, doc_id) VALUES ('old:0', 'old');"
        )
    keyword = KeywordIndex(path)
    assert keyword.count() == 0
    keyword.apply(rows(FERRY, "The Quillon ferry sails to Marlow."))
    assert [h.published for h in keyword.ranked("Quillon", 3)] == ["2024-05-01"]


@pytest.fixture
def chroma(tmp_path: Path) -> Path:
    return tmp_path / "chroma"


def open_index(chroma: Path, embedder: MiniLMEmbedder, keyword: Path | None = None) -> Index:
    store = Store(make_client(chroma), "writer")
    return Index(store, Ingestor(embedder, store, 128, 24), keyword)


def test_writes_swap_a_new_snapshot_and_keep_chroma_keyword_and_groups_in_step(
    chroma: Path, embedder: MiniLMEmbedder
) -> None:
    index = open_index(chroma, embedder)
    report = index.write_paths([SAMPLE_DIR])
    assert report.added and index.keyword.count() == index.store.chunks.count()
    before = index.snapshot()
    wire = "paylark-outage-harborwire-2024"
    assert before.duplicates.copies(wire), "the sample's wire story has two copies"

    doc = Document(id="zeppelin", title="Airship", text="The Zorblat airship line opens today.")
    index.write([doc])
    after = index.snapshot()
    assert after is not before and after.generation > before.generation
    assert ids(after.keyword.search("Zorblat", 3))[0].startswith("zeppelin:")

    assert index.delete("paylark-outage-valleytimes-2024")
    assert not index.snapshot().duplicates.copies(wire), "a deleted copy leaves its group"
    assert before.duplicates.copies(wire), "an old snapshot stays as it was"
    assert not index.delete("paylark-outage-valleytimes-2024")
    assert index.keyword.count() == index.store.chunks.count()


def test_start_reads_only_what_changed_behind_its_back(
    chroma: Path, embedder: MiniLMEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "bm25" / "k.sqlite3"
    open_index(chroma, embedder, saved).write_paths([SAMPLE_DIR])

    # a new process over the same data: the saved file matches, nothing is read again
    reopened = open_index(chroma, embedder, saved)
    reads: list[int] = []
    original = reopened.store.chunk_texts

    def counting(ids: list[str] | None = None, doc_ids: list[str] | None = None):  # type: ignore[no-untyped-def]
        reads.append(len(ids or doc_ids or []))
        return original(ids, doc_ids)

    monkeypatch.setattr(reopened.store, "chunk_texts", counting)
    assert ids(reopened.snapshot().keyword.search("IRIS-T", 1))[0].startswith("ukraine-air")
    assert sum(reads) == 0

    # another writer (its own keyword file) changes Chroma while this one is stopped
    other = open_index(chroma, embedder)
    other.delete("ukraine-air-defence-2024")
    other.write([Document(id="zeppelin", title="Airship", text="The Zorblat airship flies.")])
    fresh = open_index(chroma, embedder, saved)
    monkeypatch.setattr(fresh.store, "chunk_texts", counting)
    assert not any(
        c.startswith("ukraine") for c in ids(fresh.snapshot().keyword.search("IRIS-T", 3))
    )
    assert ids(fresh.snapshot().keyword.search("Zorblat", 1))[0].startswith("zeppelin:")
    assert sum(reads) == 1, "only the new chunk is read from Chroma"


def test_the_change_log_brings_another_reader_in_step(
    chroma: Path, embedder: MiniLMEmbedder
) -> None:
    writer = open_index(chroma, embedder)
    reader = open_index(chroma, embedder)
    assert reader.snapshot().keyword.count() == 0
    text = "The Zorblat airship line opens with two daily flights."
    writer.write([Document(id="zeppelin", title="Airship", text=text)])
    assert reader.sync() and ids(reader.snapshot().keyword.search("Zorblat", 1))
    assert not reader.sync(), "nothing new"
    # an edit that keeps the chunk count
    writer.write(
        [Document(id="zeppelin", title="Airship", text=text.replace("Zorblat", "Quendel"))]
    )
    reader.sync()
    assert not reader.snapshot().keyword.search("Zorblat", 1)
    assert ids(reader.snapshot().keyword.search("Quendel", 1))[0].startswith("zeppelin:")
    writer.delete("zeppelin")
    reader.sync()
    assert reader.snapshot().keyword.count() == 0
    assert not writer.sync(), "a writer does not re-apply its own batches"


def test_duplicate_groups_follow_adds_and_removes_like_a_regrouping() -> None:
    docs = [d for p in iter_files([SAMPLE_DIR]) for d in load_path(p) if isinstance(d, Document)]
    [flood] = [d for d in docs if d.id.startswith("city")]
    copies = [
        flood.model_copy(update={"id": f"flood-copy-{i}", "text": flood.text + f" Copy {i}."})
        for i in range(2)
    ]
    records = {d.id: record(d) for d in [*docs, *copies]}
    finder = DuplicateFinder()
    for entry in records.values():
        finder.put(*entry)
    assert len(finder.groups().copies(flood.id)) == 3
    for gone in (flood.id, "flood-copy-0"):
        finder.remove(gone)
        del records[gone]
        assert finder.groups() == find_groups(records.values())
    assert finder.groups().copies("flood-copy-1") == []
