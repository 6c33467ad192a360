"""Extractive passage trimming: the model reads the sentences that answer the question, not whole
chunks. Reading the prompt is most of an answer's wait on a CPU (~100 tokens/s), so the passages
get a token budget and are cut to one window of whole sentences each, chosen by score: the
question's words each sentence has, weighted by rarity. (Adding MiniLM's cosine similarity kept
no more answers on news-dev and cost ~300 ms a question: README.)

A window is contiguous: a trimmed passage is an exact slice of its article, so its offsets, and
those of every quote cited from it, stay exact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.chunk import Span, count_tokens, split_sentences
from qa.checking.tokens import tokenize
from qa.domain import Passage

# a bonus per number or name the question does not give (up to 4): on news-dev it kept the
# answer for 2 more questions of 134, and it picks the sample's "240mm …" sentence (README)
SPECIFIC, SPECIFIC_CAP = 0.05, 4
HEADER_TOKENS = 22  # the <passage id=… source=… published=…> fence without the title
# what a sentence's score (0..1) loses per place its passage ranks lower: retrieval's order is
# strong evidence (a small decay let side stories push out the answering article: measured)
RANK_DECAY = 0.5


@dataclass(frozen=True)
class Unit:
    passage: int  # index into the passages
    sentence: int  # index into that passage's sentences
    tokens: int


def lexical_scores(question: str, sentences: list[str]) -> np.ndarray:
    """Share of the question's content words a sentence has, each weighted by its rarity among
    these sentences (a word in every sentence, like the story's subject, tells them apart least),
    plus a little for the specifics it brings."""
    wanted = {t.stem for t in tokenize(question) if t.content}
    if not wanted or not sentences:
        return np.zeros(len(sentences), dtype=np.float32)
    tokens = [tokenize(s) for s in sentences]
    stems = [{t.stem for t in ts if t.content} for ts in tokens]
    weight = {w: np.log(1 + len(sentences) / (1 + sum(w in s for s in stems))) for w in wanted}
    total = sum(weight.values())
    share = np.array([sum(weight[w] for w in wanted & s) / total for s in stems], np.float32)
    # answers are specifics: numbers and names the question does not already give
    # (a sentence's capitalised first word is no name)
    specifics = [{t.stem for t in ts[1:] if t.number or t.name} - wanted for ts in tokens]
    return share + SPECIFIC * np.minimum([len(s) for s in specifics], SPECIFIC_CAP)


class Trimmer:
    def __init__(
        self,
        budget: int,
        rank_decay: float = RANK_DECAY,
        follow: bool = True,
    ):
        """`budget`: tokens of passage text and headers the model reads (a sentence with no
        question word and no specific is never taken to fill it); `rank_decay`: what
        a sentence loses per place its passage ranks lower; `follow`: a chosen sentence brings
        the next one along when it fits."""
        self.budget = budget
        self.rank_decay = rank_decay
        self.follow = follow

    def trim(self, question: str, passages: list[Passage]) -> list[Passage]:
        spans = [split_sentences(p.text) for p in passages]
        units = [
            Unit(i, k, count_tokens(p.text[_range(s)]) + 1)
            for i, p in enumerate(passages)
            for k, s in enumerate(spans[i])
        ]
        if not units:
            return passages
        texts = [passages[u.passage].text[_range(spans[u.passage][u.sentence])] for u in units]
        relevance = lexical_scores(question, texts)
        worth = relevance > 0
        score = relevance - self.rank_decay * np.array([u.passage for u in units])
        tokens = {(u.passage, u.sentence): u.tokens for u in units}
        windows: dict[int, tuple[int, int]] = {}
        used = 0
        for index in np.argsort(-score, kind="stable"):
            unit = units[int(index)]
            if windows and not worth[index]:
                continue
            window, cost = self._extend(unit, windows.get(unit.passage), passages, tokens)
            if windows and used + cost > self.budget:
                continue
            windows[unit.passage] = window
            used += cost
            after = Unit(unit.passage, unit.sentence + 1, 0)
            if self.follow and (after.passage, after.sentence) in tokens:
                # the sentence after a match often carries the answer ("Some items rose
                # more than others. Eggs soared 38%...")
                window, cost = self._extend(after, window, passages, tokens)
                if used + cost <= self.budget:
                    windows[unit.passage] = window
                    used += cost
        kept = [
            _slice(passages[i], spans[i][first], spans[i][last], n)
            for n, (i, (first, last)) in enumerate(sorted(windows.items()), start=1)
        ]
        return kept

    @staticmethod
    def _extend(
        unit: Unit,
        window: tuple[int, int] | None,
        passages: list[Passage],
        tokens: dict[tuple[int, int], int],
    ) -> tuple[tuple[int, int], int]:
        """The window that also covers `unit`, and what the sentences it adds cost."""
        if window is None:
            header = HEADER_TOKENS + count_tokens(passages[unit.passage].title)
            return (unit.sentence, unit.sentence), header + unit.tokens
        first, last = min(window[0], unit.sentence), max(window[1], unit.sentence)
        added = [k for k in range(first, last + 1) if not window[0] <= k <= window[1]]
        return (first, last), sum(tokens[(unit.passage, k)] for k in added)


def _slice(passage: Passage, first: Span, last: Span, n: int) -> Passage:
    return passage.model_copy(
        update={
            "n": n,
            "text": passage.text[first.start : last.end],
            "start": passage.start + first.start,
            "end": passage.start + last.end,
        }
    )


def _range(span: Span) -> slice:
    return slice(span.start, span.end)
