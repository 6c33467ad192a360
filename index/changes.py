"""The change log: which documents each write batch touched, kept in Chroma beside the data, so
every process reading the same Chroma server can bring its derived indexes in step.

One small record per batch in the `<collection>_changes` collection: a unique id, the writer's
clock in milliseconds and the document ids. A reader asks for the records of the last minute
before its previous poll (clocks of different machines may disagree a little) and skips those it
has seen. Records older than an hour are trimmed by writers; a reader that did not poll for that
long gets `None` and compares everything instead."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from index.store import Store

SKEW_MS = 60_000  # how far writers' clocks (and a record's delay) may lag the reader's
KEEP_MS = 3_600_000
TRIM_EVERY = 50  # writes between trims of old records


def now_ms() -> int:
    return int(time.time() * 1000)


class ChangeLog:
    def __init__(self, store: Store):
        self.store = store
        self._collection: Any = None
        self._cursor = now_ms()
        self._last_poll = time.monotonic()
        self._seen: dict[str, int] = {}  # record id -> its time, for records within the window
        self._writes = 0

    @property
    def collection(self) -> Any:
        """Made on first use: a Chroma server may come up after this process."""
        if self._collection is None:
            # Chroma records need a vector; a constant one-dimensional one will do
            self._collection = self.store.client.get_or_create_collection(
                f"{self.store.name}_changes", embedding_function=None
            )
        return self._collection

    def start(self) -> None:
        """Changes recorded from now on are returned by `poll` (the caller reads the rest)."""
        self._cursor = now_ms()
        self._last_poll = time.monotonic()
        self._seen.clear()

    def record(self, doc_ids: list[str]) -> None:
        at = now_ms()
        entry = f"{at:013d}-{uuid.uuid4().hex[:12]}"
        self.collection.add(
            ids=[entry], embeddings=[[1.0]], metadatas=[{"at": at, "docs": json.dumps(doc_ids)}]
        )
        self._seen[entry] = at  # this process applied it already
        self._writes += 1
        if self._writes % TRIM_EVERY == 0:
            self.collection.delete(where={"at": {"$lt": at - KEEP_MS}})

    def poll(self) -> set[str] | None:
        """Documents changed by others since the last poll (None: too long ago to know)."""
        if time.monotonic() - self._last_poll > (KEEP_MS - SKEW_MS) / 1000:
            return None
        self._last_poll = time.monotonic()
        since = self._cursor - SKEW_MS
        found = self.collection.get(where={"at": {"$gte": since}}, include=["metadatas"])
        changed: set[str] = set()
        for entry, meta in zip(found["ids"], found["metadatas"], strict=True):
            at = int(meta["at"])
            self._cursor = max(self._cursor, at)
            if entry not in self._seen:
                self._seen[entry] = at
                changed.update(json.loads(meta["docs"]))
        horizon = self._cursor - 2 * SKEW_MS
        self._seen = {e: at for e, at in self._seen.items() if at >= horizon}
        return changed
