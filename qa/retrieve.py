"""Retrieve the passages most similar to a question, with optional source/date filters."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, time
from typing import Any

from index.embed import Embedder
from index.store import Store
from qa.schemas import Filters, Passage


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.source:
        clauses.append({"source": filters.source})
    if filters.published_after:
        moment = datetime.combine(filters.published_after, time.min, tzinfo=UTC)
        clauses.append({"published_ts": {"$gte": int(moment.timestamp())}})
    if filters.published_before:
        moment = datetime.combine(filters.published_before, time.max, tzinfo=UTC)
        clauses.append({"published_ts": {"$lte": int(moment.timestamp())}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    def __init__(self, embedder: Embedder, store: Store):
        self.embedder = embedder
        self.store = store

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        vector = self.embedder.embed([query])[0]
        hits = self.store.query(vector, top_k, chroma_where(filters))
        return [
            Passage(n=n, chunk_id=hit.id, **{k: v for k, v in asdict(hit).items() if k != "id"})
            for n, hit in enumerate(hits, start=1)
        ]
