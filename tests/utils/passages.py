"""Passages as retrieval would give them, for the check's tests: one article's whole text, or
the sample article cut into chunks."""

from index.chunk import chunk_text
from index.load import Document, load_path
from qa.domain import Passage
from tests.utils.support import SAMPLE_ARTICLE


def make_passage(
    text: str,
    title: str = "",
    published: str | None = None,
    n: int = 1,
    *,
    doc_id: str | None = None,
    source: str | None = None,
    start: int = 0,
    score: float = 0.5,
) -> Passage:
    """`start`: where the passage begins in its article (the text before it is not given)."""
    doc_id = doc_id or f"d{n}"
    return Passage(
        n=n, doc_id=doc_id, chunk_id=f"{doc_id}:0", title=title, source=source,
        published=published, start=start, end=start + len(text), score=score, text=text,
    )  # fmt: skip


def sample_passages() -> tuple[Document, list[Passage]]:
    """The sample article (North Korean troops and weapons) and its chunks as passages 1..n."""
    [doc] = list(load_path(SAMPLE_ARTICLE))
    assert isinstance(doc, Document)
    found = [
        Passage(
            n=i + 1, doc_id=doc.id, chunk_id=c.id, title=doc.title, source=doc.source,
            published=doc.published, text=c.text, start=c.start, end=c.end, score=0.5,
        )
        for i, c in enumerate(chunk_text(doc.id, doc.text, 96, 16))
    ]  # fmt: skip
    return doc, found
