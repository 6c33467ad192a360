"""Evidence first: the sentences of the retrieved passages ranked against the question, so a
reader sees the best one or two quotes at once, long before the LLM's answer (and an
extractive answer is made of them). Sentences are split as the chunker and the claim check
split them (index.chunk.split_sentences), so a quote is an exact slice of its article."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from index.chunk import split_sentences
from index.embed import Embedder
from qa.domain import EvidenceQuote, Passage

# a "sentence" this short is a dateline, a byline or a heading: no evidence on its own
MIN_QUOTE_CHARS = 25


class SentenceScorer(Protocol):
    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Relevance of each text to `query`, higher is better, shape (len(texts),)."""


class EmbedderScorer:
    """Cosine similarity of the question's and each sentence's embedding (the retrieval model)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        vectors = self.embedder.embed([query, *texts])
        return np.asarray(vectors[1:] @ vectors[0], dtype=np.float32)


class EvidenceRanker:
    def __init__(self, scorer: SentenceScorer, count: int = 2):
        """`count`: how many quotes to give (the best first)."""
        self.scorer = scorer
        self.count = count

    def candidates(self, passages: list[Passage]) -> list[tuple[Passage, int, int]]:
        """Each distinct sentence of the passages once: (passage, start, end), offsets into
        the passage's text. Overlapping chunks of one article repeat sentences: the first
        (best-ranked) passage keeps them."""
        seen: set[tuple[str, int]] = set()
        found = []
        for passage in passages:
            for span in split_sentences(passage.text):
                key = (passage.doc_id, passage.start + span.start)
                if span.end - span.start < MIN_QUOTE_CHARS or key in seen:
                    continue
                seen.add(key)
                found.append((passage, span.start, span.end))
        return found

    def rank(
        self, question: str, passages: list[Passage], count: int | None = None
    ) -> list[EvidenceQuote]:
        """The best `count` (default: the ranker's) sentences, best first."""
        found = self.candidates(passages)
        if not found:
            return []
        texts = [p.text[start:end] for p, start, end in found]
        scores = self.scorer.score(question, texts)
        # stable: on a tie the better-retrieved passage's earlier sentence wins
        best = np.argsort(-scores, kind="stable")[: count or self.count]
        return [_quote(*found[int(i)], float(scores[i])) for i in best]


def _quote(passage: Passage, start: int, end: int, score: float) -> EvidenceQuote:
    fields = passage.model_dump(exclude={"text", "start", "end", "score", "also_reported_by"})
    return EvidenceQuote(
        **fields,
        quote=passage.text[start:end],
        start=passage.start + start,
        end=passage.start + end,
        score=round(score, 4),
    )
