"""Near-duplicate articles: the same wire story republished by several outlets within days.

Each document's MinHash signature over word shingles is computed at ingest and stored with the
document record. `DuplicateFinder` groups the documents whose estimated Jaccard similarity
passes the threshold (MinHash LSH, then connected groups); the index writer updates it with
every write batch, so a delete or an edit regroups before the write returns."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from datasketch import MinHash, MinHashLSH
from pydantic import BaseModel, ConfigDict

from index.load import Document

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


@dataclass(frozen=True)
class DuplicateGroups:
    """Groups of near-duplicate documents (immutable: a new write makes a new value)."""

    group_of: Mapping[str, str] = field(default_factory=dict)
    members: Mapping[str, list[Copy]] = field(default_factory=dict)

    def group(self, doc_id: str) -> str:
        """A key shared by all copies of the same story (the document's own id if unique)."""
        return self.group_of.get(doc_id, doc_id)

    def copies(self, doc_id: str) -> list[Copy]:
        """Every copy of the document's story, preferred first (empty if it has none)."""
        return list(self.members.get(self.group(doc_id), []))


class DuplicateFinder:
    """The writer's working state: documents in a MinHash LSH, and the groups they form (the
    connected parts of the graph of near-copy pairs published within the window). Adding a
    document links it to its candidates; removing one regroups only its own group's members, so
    a write costs what its documents cost, not what the corpus costs."""

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._hashes: dict[str, MinHash] = {}
        self._copies: dict[str, Copy] = {}
        self._group_of: dict[str, int] = {}
        self._groups: dict[int, set[str]] = {}
        self._next = 0

    def put(self, copy: Copy, encoded: str | None) -> None:
        """Add or replace a document (`encoded`: its MinHash; None: never a duplicate)."""
        self.remove(copy.doc_id)
        self._copies[copy.doc_id] = copy
        if encoded is not None:
            minhash = _minhash(encoded)
            self._hashes[copy.doc_id] = minhash
            self._lsh.insert(copy.doc_id, minhash)
        self._link(copy.doc_id)

    def remove(self, doc_id: str) -> None:
        if doc_id not in self._copies:
            return
        members = self._groups.pop(self._group_of[doc_id])
        for member in members:
            del self._group_of[member]
        del self._copies[doc_id]
        if self._hashes.pop(doc_id, None) is not None:
            self._lsh.remove(doc_id)
        for member in sorted(members - {doc_id}):
            self._link(member)

    def _link(self, doc_id: str) -> None:
        group = self._next
        self._next += 1
        self._groups[group] = {doc_id}
        self._group_of[doc_id] = group
        minhash = self._hashes.get(doc_id)
        if minhash is None:
            return
        copy = self._copies[doc_id]
        for other in self._lsh.query(minhash):  # LSH finds candidates; the estimate decides
            if other == doc_id or other not in self._group_of:
                continue
            close = _days_apart(copy, self._copies[other]) <= WINDOW_DAYS
            if close and minhash.jaccard(self._hashes[other]) >= self.threshold:
                self._merge(self._group_of[doc_id], self._group_of[other])

    def _merge(self, a: int, b: int) -> None:
        if a == b:
            return
        if len(self._groups[a]) < len(self._groups[b]):
            a, b = b, a
        for member in self._groups[b]:
            self._group_of[member] = a
        self._groups[a] |= self._groups.pop(b)

    def groups(self) -> DuplicateGroups:
        group_of: dict[str, str] = {}
        keyed: dict[str, list[Copy]] = {}
        for members in self._groups.values():
            if len(members) < 2:
                continue
            ordered = sorted((self._copies[m] for m in members), key=preference)
            keyed[ordered[0].doc_id] = ordered
            group_of.update((c.doc_id, ordered[0].doc_id) for c in ordered)
        return DuplicateGroups(group_of, keyed)


def record(doc: Document) -> tuple[Copy, str | None]:
    """What the duplicate finder keeps of a document: its description and MinHash signature."""
    copy = Copy(
        doc_id=doc.id,
        title=doc.title,
        source=doc.source,
        url=doc.url,
        published=doc.published,
        length=len(doc.text),
    )
    return copy, signature(doc.text)


def find_groups(records: Iterable[tuple[Copy, str | None]]) -> DuplicateGroups:
    finder = DuplicateFinder()
    for copy, encoded in records:
        finder.put(copy, encoded)
    return finder.groups()


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
