"""Near-duplicate articles: the same wire story republished by several outlets within days.

Each document's MinHash signature over word shingles is computed at ingest and stored with the
document record. `DuplicateIndex` groups the stored documents whose estimated Jaccard similarity
passes the threshold (MinHash LSH, then union-find), rebuilt from the store after writes, so a
delete or an edit regroups on the next search."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterable
from datetime import date

import numpy as np
from datasketch import MinHash, MinHashLSH
from pydantic import BaseModel, ConfigDict

NUM_PERM = 64
SCHEME = "affine32"  # stored signatures must be read back with the scheme that made them
SHINGLE_WORDS = 3
THRESHOLD = 0.6  # measured: a lightly edited wire copy keeps ~0.77; distinct reports < 0.3
WINDOW_DAYS = 2  # wire copies appear within a day or two; a later near-copy is an update
MIN_SHINGLES = 20  # too short to tell a copy from a template
_WORD = re.compile(r"\w+")


def signature(text: str) -> str | None:
    """Base64 MinHash of the text's word 3-shingles (None for texts too short to compare)."""
    words = _WORD.findall(text.lower())
    shingles = {
        " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    }
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return base64.b64encode(minhash.hashvalues.astype(np.uint64).tobytes()).decode()


def _minhash(encoded: str) -> MinHash:
    values = np.frombuffer(base64.b64decode(encoded), dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME)


class Report(BaseModel):
    """One outlet's copy of a story, as answers list it (`also_reported_by`)."""

    model_config = ConfigDict(frozen=True)
    doc_id: str
    title: str
    source: str | None = None
    url: str | None = None
    published: str | None = None


class Copy(Report):
    """One member of a group of near-duplicate articles; `length` picks the copy that speaks.
    Where a `Report` is expected, a `Copy` is serialised as one (without `length`)."""

    length: int


class DuplicateIndex:
    """Groups of near-duplicate documents, derived from the signatures in the store."""

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self._lock = threading.Lock()
        self._signature: object = None
        self._group_of: dict[str, str] = {}
        self._members: dict[str, list[Copy]] = {}

    def refresh(
        self, signature: object, records: Callable[[], Iterable[tuple[Copy, str | None]]]
    ) -> None:
        """Regroup when `signature` (the store's state) changed; `records()` gives each stored
        document with its MinHash (None: never a duplicate)."""
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
            parent: dict[str, str] = {}
            copies: dict[str, Copy] = {}
            hashes: dict[str, MinHash] = {}

            def root(doc_id: str) -> str:
                while parent[doc_id] != doc_id:
                    parent[doc_id] = parent[parent[doc_id]]
                    doc_id = parent[doc_id]
                return doc_id

            for copy, encoded in records():
                copies[copy.doc_id] = copy
                parent[copy.doc_id] = copy.doc_id
                if encoded is None:
                    continue
                minhash = _minhash(encoded)
                for other in lsh.query(minhash):  # LSH finds candidates; the estimate decides
                    close = _days_apart(copy, copies[other]) <= WINDOW_DAYS
                    if close and minhash.jaccard(hashes[other]) >= self.threshold:
                        parent[root(other)] = root(copy.doc_id)
                lsh.insert(copy.doc_id, minhash)
                hashes[copy.doc_id] = minhash
            members: dict[str, list[Copy]] = {}
            for doc_id in copies:
                members.setdefault(root(doc_id), []).append(copies[doc_id])
            self._members = {}
            self._group_of = {}
            for group in members.values():
                if len(group) < 2:
                    continue
                group.sort(key=preference)
                key = group[0].doc_id
                self._members[key] = group
                self._group_of.update((c.doc_id, key) for c in group)
            self._signature = signature

    def group(self, doc_id: str) -> str:
        """A key shared by all copies of the same story (the document's own id if unique)."""
        return self._group_of.get(doc_id, doc_id)

    def copies(self, doc_id: str) -> list[Copy]:
        """Every copy of the document's story, preferred first (empty if it has none)."""
        return self._members.get(self.group(doc_id), [])


def preference(copy: Copy) -> tuple[int, str]:
    """The most complete copy first; of equally long ones, the earliest."""
    return (-copy.length, copy.published or "9999")


def _days_apart(a: Copy, b: Copy) -> float:
    if not (a.published and b.published):
        return 0.0  # undated copies: the text alone decides
    try:
        first, second = date.fromisoformat(a.published[:10]), date.fromisoformat(b.published[:10])
    except ValueError:
        return 0.0
    return abs((first - second).days)
