import pytest

from index.where import admits
from qa.retrieve import chroma_where, keyword_filter
from qa.schemas import Filters


def test_admits_evaluates_the_clauses_chroma_where_writes() -> None:
    where = chroma_where(
        keyword_filter(Filters(source="AP", as_of="2024-11-04", metadata={"section": "world"}))
    )
    assert where is not None
    meta = {"source": "AP", "published_ts": 1_730_000_000, "m_section": "world"}
    assert admits(meta, where)
    assert not admits({**meta, "source": "Reuters"}, where)
    assert not admits({**meta, "published_ts": 1_740_000_000}, where)
    assert not admits({k: v for k, v in meta.items() if k != "published_ts"}, where)  # undated
    assert not admits({k: v for k, v in meta.items() if k != "m_section"}, where)
    assert admits({"a": 1}, {"$or": [{"a": 2}, {"a": {"$gte": 1}}]})
    with pytest.raises(ValueError, match="not supported"):
        admits({"a": 1}, {"a": {"$in": [1]}})
