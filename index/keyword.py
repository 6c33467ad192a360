"""BM25 keyword index in SQLite FTS5, updated one document at a time, kept beside Chroma.

Texts are tokenized as bm25s does (English stopwords, Snowball stemmer; title + chunk text) and
the stemmed tokens stored in an FTS5 table, ranked by FTS5's `bm25()`. Adding or deleting a
document touches only its own rows, in one transaction, so a write costs what the document costs,
not what the corpus costs (measured against today's whole-corpus bm25s ranking: README).

Beside the terms it keeps each chunk's article, date and filter fields: vector hits are filtered
here, and articles are ranked from it before any chunk is read from Chroma.

It is derived data: `index.index.Index` fills it from Chroma and is its only writer. The file
lives under `$QA_DATA_DIR/bm25/`, so a restart reads it instead of rebuilding. SQLite's WAL lets
readers (one connection per thread) search while a write commits."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

import apsw
import bm25s
import Stemmer

from index.records import META_PREFIX

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG
FORMAT = "fts5-2"  # bumped when the schema or tokenization changes: the file is then rebuilt
PARTS = 2  # a search scores this many rowid ranges at once, one a core (README, Speed)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks(
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, source TEXT, ts INTEGER,
    published TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS doc_meta(
    doc_id TEXT NOT NULL, key TEXT NOT NULL, value, PRIMARY KEY (doc_id, key)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS terms
    USING fts5(tokens, tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class KeywordFilter:
    source: str | None = None
    min_ts: int | None = None
    max_ts: int | None = None
    metadata: tuple[tuple[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class KeywordChunk:
    """What the keyword index keeps of one chunk (built from Chroma's record)."""

    id: str
    doc_id: str
    text: str  # title + chunk text, as indexed
    source: str | None
    published_ts: int | None
    metadata: tuple[tuple[str, Any], ...]
    published: str | None = None  # as the document gives it (the recency prior reads its day)

    @classmethod
    def from_chroma(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> KeywordChunk:
        own = tuple(
            (k[len(META_PREFIX) :], v)
            for k, v in sorted(meta.items())
            if k.startswith(META_PREFIX) and v is not None
        )
        ts = meta.get("published_ts")
        return cls(
            id=chunk_id,
            doc_id=str(meta["doc_id"]),
            # the title makes every chunk of an article findable by the article's subject
            text=f"{meta.get('title', '')}\n{text}",
            source=meta.get("source"),
            published_ts=int(ts) if ts is not None else None,
            metadata=own,
            published=meta.get("published"),
        )


class Hit(NamedTuple):
    """A chunk as the keyword index knows it, and a score."""

    id: str
    doc_id: str
    published: str | None
    score: float


class Tokenizer:
    def __init__(self) -> None:
        self.stemmer = Stemmer.Stemmer("english")

    def __call__(self, texts: list[str]) -> list[list[str]]:
        tokens = bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        return tokens  # type: ignore[return-value]


class KeywordIndex:
    def __init__(self, path: Path | None = None, parts: int = PARTS):
        """`path`: the SQLite file (None: a private temporary one, for tests and one-off runs);
        `parts`: rowid ranges a search scores at once."""
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="qa-keyword-")
            path = Path(self._tmp.name) / "keyword.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.tokenize = Tokenizer()
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.parts = parts
        # the other parts of up to 4 searches at once (the Retriever's keyword threads)
        self._parts = ThreadPoolExecutor(4 * max(parts - 1, 1), thread_name_prefix="keyword-part")
        with self._write_lock, self._connection() as db:
            db.execute(_SCHEMA)
            if self._state(db, "format") not in (None, FORMAT):  # rebuilt: tables may differ
                for table in ("chunks", "doc_meta", "terms", "state"):
                    db.execute(f"DROP TABLE {table}")
                db.execute(_SCHEMA)
            db.execute("INSERT OR REPLACE INTO state VALUES ('format', ?)", (FORMAT,))

    def _db(self) -> apsw.Connection:
        db: apsw.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # apsw, not the standard library's sqlite3: it brings its own, newer SQLite, whose
            # FTS5 searches ~30 % faster than Debian's 3.40 here (same scores)
            db = apsw.Connection(str(self.path))
            db.set_busy_timeout(30_000)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _connection(self) -> _Transaction:
        return _Transaction(self._db())

    @staticmethod
    def _state(db: apsw.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- writes (one transaction each) -----------------------------------------------------
    def apply(
        self,
        add: Sequence[KeywordChunk] = (),
        drop_docs: Iterable[str] = (),
        drop_chunks: Iterable[str] = (),
    ) -> None:
        """Remove the named documents' and chunks' rows, then add `add`, atomically."""
        tokens = self.tokenize([c.text for c in add]) if add else []
        with self._write_lock, self._connection() as db:
            for doc_id in drop_docs:
                self._drop_rows(db, _first(db, "SELECT row FROM chunks WHERE doc_id = ?", [doc_id]))
                db.execute("DELETE FROM doc_meta WHERE doc_id = ?", (doc_id,))
            for chunk_ids in _batches(list(drop_chunks), 500):
                marks = ",".join("?" * len(chunk_ids))
                self._drop_rows(
                    db, _first(db, f"SELECT row FROM chunks WHERE id IN ({marks})", chunk_ids)
                )
            for chunk, words in zip(add, tokens, strict=True):
                self._drop_rows(db, _first(db, "SELECT row FROM chunks WHERE id = ?", [chunk.id]))
                db.execute(
                    "INSERT INTO chunks(id, doc_id, source, ts, published) VALUES (?, ?, ?, ?, ?)",
                    (chunk.id, chunk.doc_id, chunk.source, chunk.published_ts, chunk.published),
                )
                db.execute(
                    "INSERT INTO terms(rowid, tokens) VALUES (?, ?)",
                    (db.last_insert_rowid(), " ".join(words)),
                )
            metas = {c.doc_id: c.metadata for c in add}
            for doc_id, pairs in metas.items():
                db.execute("DELETE FROM doc_meta WHERE doc_id = ?", (doc_id,))
                db.executemany(
                    "INSERT INTO doc_meta VALUES (?, ?, ?)", [(doc_id, k, v) for k, v in pairs]
                )

    @staticmethod
    def _drop_rows(db: apsw.Connection, rows: list[int]) -> None:
        db.executemany("DELETE FROM terms WHERE rowid = ?", [(r,) for r in rows])
        db.executemany("DELETE FROM chunks WHERE row = ?", [(r,) for r in rows])

    def set_state(self, key: str, value: str) -> None:
        with self._write_lock, self._connection() as db:
            db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, value))

    def state(self, key: str) -> str | None:
        return self._state(self._db(), key)

    # --- reads -----------------------------------------------------------------------------
    def chunk_ids(self) -> set[str]:
        return set(_first(self._db(), "SELECT id FROM chunks"))

    def count(self) -> int:
        return int(_first(self._db(), "SELECT count(*) FROM chunks")[0])

    def search(
        self, query: str, k: int, filters: KeywordFilter | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best (chunk id, BM25 score) pairs; higher scores are better."""
        return [(hit.id, hit.score) for hit in self.ranked(query, k, filters)]

    def ranked(self, query: str, k: int, filters: KeywordFilter | None = None) -> list[Hit]:
        """The `k` best chunks, best first, with what ranking articles needs of them."""
        words = dict.fromkeys(self.tokenize([query])[0])
        if not words or k < 1:
            return []
        # (min and max apart: together they scan the table)
        ends = "SELECT (SELECT min(row) FROM chunks), (SELECT max(row) FROM chunks)"
        first, last = cast(tuple[int | None, int | None], next(self._db().execute(ends)))
        if first is None or last is None:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        where, params = _filter_sql(filters)
        # FTS5 computes bm25() for every chunk that has any of the words, most of a search's
        # time: the rows are scored in `parts` ranges at once, each on its own core
        sql = (
            "SELECT c.id, c.doc_id, c.published, bm25(terms) AS s, terms.rowid"
            " FROM terms JOIN chunks c ON c.row = terms.rowid"
            f" WHERE terms MATCH ? AND terms.rowid BETWEEN ? AND ?{where}"
            " ORDER BY s, terms.rowid LIMIT ?"
        )
        cuts = [first + (last + 1 - first) * i // self.parts for i in range(self.parts + 1)]

        def part(i: int) -> list[tuple[Any, ...]]:
            return self._db().execute(sql, [match, cuts[i], cuts[i + 1] - 1, *params, k]).fetchall()

        others = [self._parts.submit(part, i) for i in range(1, self.parts)]
        rows = part(0) + [row for other in others for row in other.result()]
        rows.sort(key=lambda row: (row[3], row[4]))
        hits: dict[str, Hit] = {}  # (a write between two parts' reads can show a chunk twice)
        for cid, doc, day, score, _ in rows:
            hits.setdefault(cid, Hit(str(cid), str(doc), day, -float(score)))
        return list(hits.values())[:k]

    def found(self, chunk_ids: list[str], filters: KeywordFilter | None) -> dict[str, Hit]:
        """Those of `chunk_ids` that pass `filters`, scored 0 (ids it does not hold fail)."""
        passed: dict[str, Hit] = {}
        where, params = _filter_sql(filters)
        for batch in _batches(chunk_ids, 1000):  # (600 in one statement: ~1 ms less than in two)
            sql = "SELECT c.id, c.doc_id, c.published FROM chunks c"
            sql += f" WHERE c.id IN ({','.join('?' * len(batch))}){where}"
            for cid, doc, day in self._db().execute(sql, [*batch, *params]):
                passed[cid] = Hit(cid, doc, day, 0.0)
        return passed


def _filter_sql(filters: KeywordFilter | None) -> tuple[str, list[Any]]:
    """`filters` as " AND …" conditions on the chunks table `c`, and their parameters."""
    sql, params = "", list[Any]()
    if filters is None:
        return sql, params
    if filters.source is not None:
        sql += " AND c.source = ?"
        params.append(filters.source)
    # undated chunks (ts NULL) fail any date filter
    if filters.min_ts is not None:
        sql += " AND c.ts >= ?"
        params.append(filters.min_ts)
    if filters.max_ts is not None:
        sql += " AND c.ts <= ?"
        params.append(filters.max_ts)
    for key, value in filters.metadata:
        sql += (
            " AND EXISTS (SELECT 1 FROM doc_meta m"
            " WHERE m.doc_id = c.doc_id AND m.key = ? AND m.value = ?)"
        )
        params += [key, value]
    return sql, params


class _Transaction:
    """`with`: BEGIN IMMEDIATE … COMMIT (or ROLLBACK on an error)."""

    def __init__(self, db: apsw.Connection):
        self.db = db

    def __enter__(self) -> apsw.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _first(db: apsw.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The first column of the rows."""
    return [row[0] for row in db.execute(sql, params)]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
