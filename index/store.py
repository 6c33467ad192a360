"""Chroma storage: one collection of chunk vectors, one of whole documents beside it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from index import dedup
from index.chunk import Chunk
from index.load import Document
from index.records import chunk_metadata, document_metadata

WRITE_BATCH = 500


def make_client(data_dir: Path, chroma_url: str | None = None) -> Any:
    """Embedded `PersistentClient` under `data_dir`, or `HttpClient` when a URL is given."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(data_dir), settings=settings)


@dataclass
class StoredChunk:
    id: str
    doc_id: str
    text: str
    start: int
    end: int
    title: str
    url: str | None
    source: str | None
    published: str | None
    score: float


@dataclass
class StoredDocument:
    document: Document
    content_hash: str
    chunk_count: int
    ingested_at: str


class Store:
    def __init__(self, client: Any, collection: str = "news"):
        self.client = client
        self.name = collection
        space = {"hnsw:space": "cosine"}
        self.chunks = client.get_or_create_collection(
            collection, metadata=space, embedding_function=None
        )
        self.documents = client.get_or_create_collection(
            f"{collection}_documents", metadata=space, embedding_function=None
        )

    def heartbeat(self) -> None:
        self.client.heartbeat()

    # --- documents -------------------------------------------------------------------------
    def index_state(self, doc_id: str) -> tuple[str, int] | None:
        """The stored document's content hash and index format (None if not stored)."""
        found = self.documents.get(ids=[doc_id], include=["metadatas"])
        metas = found["metadatas"] or []
        if not metas:
            return None
        return str(metas[0]["content_hash"]), int(metas[0].get("index_format", 1))

    def get_document(self, doc_id: str) -> StoredDocument | None:
        found = self.documents.get(ids=[doc_id], include=["metadatas", "documents"])
        if not found["ids"]:
            return None
        return self._stored(found["ids"][0], found["documents"][0], found["metadatas"][0])

    def list_documents(self, limit: int = 100, offset: int = 0) -> tuple[list[StoredDocument], int]:
        total = self.documents.count()
        found = self.documents.get(include=["metadatas", "documents"], limit=limit, offset=offset)
        docs = [
            self._stored(i, text, meta)
            for i, text, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        ]
        return docs, total

    @staticmethod
    def _stored(doc_id: str, text: str, meta: dict[str, Any]) -> StoredDocument:
        doc = Document(
            id=doc_id,
            title=meta["title"],
            text=text,
            url=meta.get("url"),
            source=meta.get("source"),
            published=meta.get("published"),
            metadata=json.loads(meta.get("metadata_json", "{}")),
        )
        return StoredDocument(
            doc, meta["content_hash"], int(meta["chunk_count"]), meta.get("ingested_at", "")
        )

    def put_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write the new chunks first, then drop stale ones, then the document record: a crash
        part-way leaves the old record's hash, so the next ingest redoes the document."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        old = self.chunks.get(where={"doc_id": doc.id}, include=["metadatas"])
        shared = chunk_metadata(doc, old["metadatas"] or [])
        for i in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[i : i + WRITE_BATCH]
            self.chunks.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[i : i + WRITE_BATCH].tolist(),
                documents=[c.text for c in batch],
                metadatas=[
                    {**shared, "position": c.position, "start": c.start, "end": c.end}
                    for c in batch
                ],
            )
        keep = {c.id for c in chunks}
        stale = [cid for cid in old["ids"] if cid not in keep]
        if stale:
            self.chunks.delete(ids=stale)
        centroid = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
        norm = float(np.linalg.norm(centroid)) or 1.0
        self.documents.upsert(
            ids=[doc.id],
            embeddings=[(centroid / norm).tolist()],
            documents=[doc.text],
            metadatas=[document_metadata(doc, len(chunks))],
        )

    def refresh_metadata(self, doc: Document) -> None:
        """Rewrite the metadata of a document stored by an older index format; its text, and
        so its chunks and vectors, are unchanged."""
        found = self.chunks.get(where={"doc_id": doc.id}, include=["metadatas"])
        shared = chunk_metadata(doc, found["metadatas"] or [])
        offsets = ("position", "start", "end")
        metas = [{**shared, **{k: m[k] for k in offsets}} for m in found["metadatas"]]
        for i in range(0, len(metas), WRITE_BATCH):
            ids = found["ids"][i : i + WRITE_BATCH]
            self.chunks.update(ids=ids, metadatas=metas[i : i + WRITE_BATCH])  # type: ignore[arg-type]
        self.documents.update(ids=[doc.id], metadatas=[document_metadata(doc, len(metas))])

    def delete_document(self, doc_id: str) -> bool:
        existed = bool(self.documents.get(ids=[doc_id], include=[])["ids"])
        self.chunks.delete(where={"doc_id": doc_id})
        self.documents.delete(ids=[doc_id])
        return existed

    def chunk_ids(self, doc_id: str) -> list[str]:
        return list(self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"])

    def all_chunk_ids(self, page: int = 20000) -> list[str]:
        ids: list[str] = []
        while True:
            found = self.chunks.get(include=[], limit=page, offset=len(ids))["ids"]
            if not found:
                return ids
            ids += found

    # --- search ----------------------------------------------------------------------------
    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        # (an empty collection answers with no ids: counting first cost ~7 ms at 59k chunks)
        found = self.chunks.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(
            found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0],
            strict=True,
        )  # fmt: skip
        return [_stored_chunk(cid, text, meta, 1.0 - float(d)) for cid, text, meta, d in rows]

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `k` nearest chunks, unfiltered: ids only, so
        it costs the HNSW search alone (~6 ms at 59k chunks; reading 600 records' metadata to
        filter them took ~40 ms more)."""
        # the array as it is (a list of 384 floats took ~1 ms more to pass)
        found = self.chunks.query(
            query_embeddings=vector[None, :], n_results=k, include=["distances"]
        )
        return [
            (cid, 1.0 - float(d))
            for cid, d in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def read_chunks(
        self, ids: list[str], vector: np.ndarray, similarity: Mapping[str, float]
    ) -> dict[str, StoredChunk]:
        """Chunks by id, scored by their cosine `similarity` to `vector` when given, else from
        their embeddings (read only then)."""
        if not ids:
            return {}
        scored = all(cid in similarity for cid in ids)
        include = ["documents", "metadatas"] + ([] if scored else ["embeddings"])
        found = self.chunks.get(ids=list(dict.fromkeys(ids)), include=include)  # type: ignore[arg-type]
        ids = found["ids"]
        vectors = [None] * len(ids) if scored else found["embeddings"]
        chunks = {}
        for cid, text, meta, emb in zip(
            ids, found["documents"], found["metadatas"], vectors, strict=True
        ):
            score = similarity[cid] if cid in similarity else float(np.asarray(emb) @ vector)
            chunks[cid] = _stored_chunk(cid, text, meta, score)
        return chunks

    def get_chunks(self, ids: list[str], vector: np.ndarray) -> list[StoredChunk]:
        """Chunks by id, scored by cosine similarity to `vector`."""
        return list(self.read_chunks(ids, vector, {}).values())

    def document_records(
        self, doc_ids: list[str] | None = None, page: int = 5000
    ) -> list[tuple[dedup.Copy, str | None]]:
        """Each document's description and MinHash signature (for the duplicate groups): the
        named ones, or all."""
        records: list[tuple[dedup.Copy, str | None]] = []
        offset = 0
        while doc_ids is None or offset < len(doc_ids):
            if doc_ids is None:
                found = self.documents.get(include=["metadatas"], limit=page, offset=offset)
                if not found["ids"]:
                    break
            else:
                batch = doc_ids[offset : offset + page]
                found = self.documents.get(ids=batch, include=["metadatas"])
            offset += page
            for doc_id, meta in zip(found["ids"], found["metadatas"], strict=True):
                copy = dedup.Copy(
                    doc_id=doc_id,
                    title=str(meta["title"]),
                    source=meta.get("source"),  # type: ignore[arg-type]
                    url=meta.get("url"),  # type: ignore[arg-type]
                    published=meta.get("published"),  # type: ignore[arg-type]
                    length=int(meta.get("length", 0)),  # type: ignore[arg-type]
                )
                records.append((copy, meta.get("minhash")))  # type: ignore[arg-type]
        return records

    def chunk_texts(
        self, ids: list[str] | None = None, doc_ids: list[str] | None = None, page: int = 2000
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of the chunks named by id, or of the named documents (for the
        keyword index)."""
        names = ids if ids is not None else doc_ids or []
        for i in range(0, len(names), page):
            batch = names[i : i + page]
            if ids is not None:
                found = self.chunks.get(ids=batch, include=["documents", "metadatas"])
            else:
                where = {"doc_id": {"$in": batch}}
                found = self.chunks.get(where=where, include=["documents", "metadatas"])  # type: ignore[dict-item]
            rows = zip(found["ids"], found["documents"], found["metadatas"], strict=True)
            yield from ((cid, text, dict(meta)) for cid, text, meta in rows)


def _stored_chunk(cid: str, text: str, meta: Any, score: float) -> StoredChunk:
    return StoredChunk(
        id=cid,
        doc_id=str(meta["doc_id"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        title=str(meta["title"]),
        url=meta.get("url"),
        source=meta.get("source"),
        published=meta.get("published"),
        score=round(score, 4),
    )
