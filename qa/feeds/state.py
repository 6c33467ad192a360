"""The feeds' state in one SQLite file: the feeds, what each poll learned, and the lease.

- `feeds`: URL, interval, the validators of the last 200 (ETag, Last-Modified), when it is next
  due, failures in a row and the last error.
- `entries`: every entry seen, by feed and key (GUID), with the document it became, the
  fingerprint of the feed's copy (unchanged: the page is not fetched again) and the hash of its
  text (the same text under another GUID is a duplicate, not a second document).
- `lease`: one row naming the process that polls (holder, expiry). A poller takes it when it
  is free or expired and renews it before every fetch; the others stay idle. So replicas that
  share this file run one poller between them, and a replica that dies hands over when its
  lease expires.

Each call opens its own connection (the poller's threads and the web threads share the file;
SQLite serialises the writes, WAL lets reads go on meanwhile)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FEEDS_FILE = "feeds.sqlite3"
LEASE = "poller"
_FEED_ID = re.compile(r"[0-9]{1,18}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    source TEXT,                -- given with --source; else the feed's title names the source
    title TEXT,                 -- the feed's own title, from its last good poll
    every_s REAL NOT NULL,
    etag TEXT,
    last_modified TEXT,
    added_at REAL NOT NULL,
    next_poll REAL NOT NULL,
    last_polled REAL,
    last_ok REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (feed_id, key)
);
CREATE INDEX IF NOT EXISTS entries_text ON entries(text_hash);
CREATE TABLE IF NOT EXISTS lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    source: str | None
    title: str | None
    every_s: float
    etag: str | None
    last_modified: str | None
    added_at: float
    next_poll: float
    last_polled: float | None
    last_ok: float | None
    failures: int
    last_error: str | None
    entries: int = 0

    @property
    def source_name(self) -> str | None:
        return self.source or self.title


@dataclass(frozen=True)
class Seen:
    doc_id: str
    fingerprint: str
    text_hash: str


@dataclass(frozen=True)
class Lease:
    holder: str
    expires: float


class FeedState:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock now: read-then-write stays atomic
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- feeds ----------------------------------------------------------------------------
    def add(self, url: str, every_s: float, source: str | None, now: float) -> tuple[Feed, bool]:
        """Add a feed (due at once), or change the interval and source of the one with this
        URL; True when it is new."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO feeds (url, source, every_s, added_at, next_poll)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (url, source, every_s, now, now),
                )
                feed_id, created = int(cursor.lastrowid or 0), True
            else:
                feed_id, created = int(row["id"]), False
                db.execute(
                    "UPDATE feeds SET every_s = ?, source = coalesce(?, source) WHERE id = ?",
                    (every_s, source, feed_id),
                )
        feed = self.get(feed_id)
        assert feed is not None
        return feed, created

    def find(self, url_or_id: str) -> Feed | None:
        """A feed by its id (digits) or its URL."""
        if _FEED_ID.fullmatch(url_or_id):  # ASCII digits that fit SQLite's 64-bit integer
            return self.get(int(url_or_id))
        return self._one("WHERE f.url = ?", (url_or_id,))

    def get(self, feed_id: int) -> Feed | None:
        return self._one("WHERE f.id = ?", (feed_id,))

    def all(self) -> list[Feed]:
        return self._select("ORDER BY f.id", ())

    def due(self, now: float) -> list[Feed]:
        return self._select("WHERE f.next_poll <= ? ORDER BY f.next_poll", (now,))

    def remove(self, feed_id: int) -> bool:
        with self._db() as db:  # its entries go with it (ON DELETE CASCADE)
            return db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount > 0

    def _one(self, where: str, params: tuple[object, ...]) -> Feed | None:
        found = self._select(where, params)
        return found[0] if found else None

    def _select(self, where: str, params: tuple[object, ...]) -> list[Feed]:
        sql = (
            "SELECT f.*, (SELECT count(*) FROM entries e WHERE e.feed_id = f.id) AS entries"
            f" FROM feeds f {where}"
        )
        with self._db() as db:
            return [Feed(**dict(row)) for row in db.execute(sql, params)]

    # --- the outcome of a poll --------------------------------------------------------------
    def succeeded(
        self,
        feed: Feed,
        now: float,
        title: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
        note: str | None = None,
    ) -> None:
        """Polled: due again one interval from now. `validators` (ETag, Last-Modified) are
        kept for the next conditional GET; None keeps the old ones (a 304), and a poll that
        left entries to retry passes (None, None), so the next one reads the whole feed."""
        etag, modified = validators if validators is not None else (feed.etag, feed.last_modified)
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET next_poll = ?, last_polled = ?, last_ok = ?, failures = 0,"
                " last_error = ?, etag = ?, last_modified = ?, title = coalesce(?, title)"
                " WHERE id = ?",
                (now + feed.every_s, now, now, note, etag, modified, title, feed.id),
            )

    def failed(self, feed: Feed, now: float, error: str, max_backoff_s: float) -> float:
        """One more failure in a row: the feed waits 2^failures intervals (at most
        `max_backoff_s`, never less than one interval). Returns when it is due again."""
        failures = feed.failures + 1
        wait = max(feed.every_s, min(feed.every_s * 2**failures, max_backoff_s))
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET next_poll = ?, last_polled = ?, failures = ?, last_error = ?"
                " WHERE id = ?",
                (now + wait, now, failures, error[:1000], feed.id),
            )
        return now + wait

    def interrupted(self, feed: Feed, now: float, error: str) -> None:
        """A poll cut short by something other than the feed (the index could not be written,
        the server stopped): noted, with no backoff, due again at the next pass."""
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET last_polled = ?, last_error = ? WHERE id = ?",
                (now, error[:1000], feed.id),
            )

    # --- entries ------------------------------------------------------------------------------
    def seen(self, feed_id: int, keys: list[str]) -> dict[str, Seen]:
        found: dict[str, Seen] = {}
        with self._db() as db:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                for row in db.execute(
                    "SELECT key, doc_id, fingerprint, text_hash FROM entries"
                    f" WHERE feed_id = ? AND key IN ({marks})",
                    (feed_id, *batch),
                ):
                    found[row["key"]] = Seen(row["doc_id"], row["fingerprint"], row["text_hash"])
        return found

    def document_with_text(self, text_hash: str) -> str | None:
        """The document an entry of any feed became whose text hashes so."""
        with self._db() as db:
            row = db.execute(
                "SELECT doc_id FROM entries WHERE text_hash = ? LIMIT 1", (text_hash,)
            ).fetchone()
        return str(row["doc_id"]) if row else None

    def record(self, feed_id: int, seen: dict[str, Seen], now: float) -> None:
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                [(feed_id, k, s.doc_id, s.fingerprint, s.text_hash, now) for k, s in seen.items()],
            )

    # --- the lease ------------------------------------------------------------------------------
    def take_lease(self, holder: str, ttl_s: float, now: float) -> Lease:
        """Take or renew the poller's lease if it is free, expired or already `holder`'s;
        returns who holds it afterwards (the caller polls only if that is itself)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT holder, expires FROM lease WHERE name = ?", (LEASE,)
            ).fetchone()
            if row is not None and row["holder"] != holder and row["expires"] > now:
                return Lease(row["holder"], row["expires"])
            db.execute(
                "INSERT OR REPLACE INTO lease VALUES (?, ?, ?)", (LEASE, holder, now + ttl_s)
            )
            return Lease(holder, now + ttl_s)

    def release_lease(self, holder: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM lease WHERE name = ? AND holder = ?", (LEASE, holder))

    def lease(self) -> Lease | None:
        with self._db() as db:
            row = db.execute(
                "SELECT holder, expires FROM lease WHERE name = ?", (LEASE,)
            ).fetchone()
        return Lease(row["holder"], row["expires"]) if row else None
