"""How retrieval ranks: the mode and the fusion's knobs (settings fill them in qa/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from qa.settings import RetrievalMode


@dataclass(frozen=True)
class RetrievalConfig:
    mode: RetrievalMode = "hybrid"
    passages_per_article: int = 2
    # a fresh article gains up to this share of a first place; measured on news-dev (README)
    recency_weight: float = 0.5
    recency_half_life_days: float = 30.0
    pool: int = 200  # chunks fetched from each index before fusion (200 measured above 100)
    # a filtered vector search fetches this many times `pool` unfiltered and filters them
    # (Retriever._nearest); measured in the README
    widen: int = 3
