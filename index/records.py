"""What is stored beside a chunk's vector and a document's text: the fields filters read, and
the record the document collection keeps (with its near-duplicate signature)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from index import dedup
from index.load import Document

# bumped when what is stored per document changes; older records get their metadata rewritten
INDEX_FORMAT = 2
META_PREFIX = "m_"  # chunk metadata keys holding the document's own metadata, for filters


def published_timestamp(published: str | None) -> int | None:
    if not published:
        return None
    moment = datetime.fromisoformat(published.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def chunk_metadata(doc: Document, previous: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What every chunk of `doc` carries besides its own offsets (filters read these).
    Chroma merges metadata on upsert and deletes keys set to None: so None values stay, and
    metadata keys the document no longer has (seen in `previous`) are set to None."""
    meta: dict[str, Any] = {
        "doc_id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "source": doc.source,
        "published": doc.published,
        "published_ts": published_timestamp(doc.published),
    }
    for key, value in doc.metadata.items():
        if isinstance(value, str | int | float | bool):
            meta[META_PREFIX + key] = value
    gone = {k for m in previous for k in m if k.startswith(META_PREFIX) and k not in meta}
    return {**dict.fromkeys(gone), **meta}


def document_metadata(doc: Document, chunk_count: int) -> dict[str, Any]:
    # None deletes a key an earlier version of the record had (Chroma merges on upsert)
    return {
        "title": doc.title,
        "url": doc.url,
        "source": doc.source,
        "published": doc.published,
        "content_hash": doc.content_hash,
        "chunk_count": chunk_count,
        "metadata_json": json.dumps(doc.metadata),
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "length": len(doc.text),
        "minhash": dedup.signature(doc.text),
        "index_format": INDEX_FORMAT,
    }
