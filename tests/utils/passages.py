"""A passage as retrieval would give it, for the check's tests: one article's whole text."""

from qa.domain import Passage


def make_passage(text: str, title: str = "", published: str | None = None, n: int = 1) -> Passage:
    return Passage(
        n=n, doc_id=f"d{n}", chunk_id=f"d{n}:0", title=title, published=published,
        start=0, end=len(text), score=0.5, text=text,
    )  # fmt: skip
