"""The one place where an answer's text becomes checked data: sentences and their `[n]` markers
are parsed here (whole or as the text streams in), each sentence is checked against the quotes of
the passages it cites (qa/verify.py), and the checked sentences are assembled into the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from index.chunk import split_sentences
from qa.checking.analysis import with_names
from qa.checking.rules import (
    MIN_COVERAGE,
    Answers,
    Quote,
    as_read,
    best_quote,
    first_failure,
    header,
    known,
    polarity_differs,
    stage,
    stale,
    stated,
)
from qa.checking.support import (
    CONTRADICTING_RULES,
    SupportVerdict,
    absent_facts,
    denies,
    features,
    model,
    support_score,
    verdict_of,
)
from qa.checking.tokens import tokenize
from qa.checking.words import word_set
from qa.domain import Attribution, Citation, Passage, Sentence
from qa.markers import LEADING_MARKERS, MARKER, marker_numbers
from qa.settings import DEFAULT_SUPPORT_THRESHOLD

NOT_ANSWERED = "The retrieved articles do not answer this question."


@dataclass(frozen=True)
class ParsedSentence:
    claim: str  # the sentence without its markers
    cited: tuple[int, ...]  # marker numbers as written, in order, without repeats


def _pieces(text: str) -> list[str]:
    """Answer sentences as written; markers after a full stop ("... howitzers. [1] Some ...") go
    back onto the sentence they close, unless they open a new line ("[1] item" lists)."""
    merged: list[str] = []
    previous_end = 0
    for span in split_sentences(text):
        piece = text[span.start : span.end]
        new_line = "\n" in text[previous_end : span.start]
        previous_end = span.end
        lead = LEADING_MARKERS.match(piece)
        if lead and merged and not new_line:
            merged[-1] = f"{merged[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            merged.append(piece)
    return merged


def _parse(piece: str) -> ParsedSentence:
    cited = [n for m in MARKER.finditer(piece) for n in marker_numbers(m.group(1))]
    claim = MARKER.sub("", piece).strip()
    claim = re.sub(r"\s+([.,;:!?])", r"\1", claim)
    claim = re.sub(r"\s{2,}", " ", claim)
    return ParsedSentence(claim, tuple(dict.fromkeys(cited)))


def _is_claim(parsed: ParsedSentence) -> bool:
    """Not empty, and not a pointer like "This is stated in passage [1].", which small models
    add after a sentence: it claims nothing (the sentence before it is cited on its own)."""
    pointers = word_set("pointer_words")
    words = [t for t in tokenize(parsed.claim) if t.content and t.norm not in pointers]
    return bool(words)


def parse_answer(text: str) -> list[ParsedSentence]:
    return [p for p in map(_parse, _pieces(text.strip())) if _is_claim(p)]


class SentenceStream:
    """Feed the model's text as it streams; get back each sentence once it is complete, i.e.
    once the next sentence has begun with a whole word (so trailing markers stay attached)."""

    def __init__(self) -> None:
        self.text = ""
        self._given = 0
        self._pieces: list[str] = []  # the text split as of the last feed

    def feed(self, piece: str) -> list[ParsedSentence]:
        self.text += piece
        self._pieces = pieces = _pieces(self.text.strip())
        complete = len(pieces) - 1
        if complete > 0 and not re.search(r"\w\W+\w", pieces[-1]):
            complete -= 1  # the next sentence has not shown a whole word yet
        return self._take(pieces[:complete])

    @property
    def pending(self) -> str:
        """The sentence being written, without markers (a draft to show, not yet checked)."""
        rest = self._pieces[self._given :]
        return " ".join(_parse(p).claim for p in rest)

    def close(self) -> list[ParsedSentence]:
        return self._take(_pieces(self.text.strip()))

    def _take(self, pieces: list[str]) -> list[ParsedSentence]:
        fresh = pieces[self._given :]
        self._given = max(self._given, len(pieces))
        return [p for p in map(_parse, fresh) if _is_claim(p)]


@dataclass
class CheckedSentence:
    claim: str
    cited: list[int]  # the passages that carry it when supported; else what the model cited
    supported: bool
    reason: str | None
    quotes: dict[int, Quote] = field(default_factory=dict)  # by passage number
    # the support score (qa/checking/support.py); None: 1.0 when supported, else 0.0 (a quote
    # given verbatim, a sentence refused before any quote was read)
    score: float | None = None
    contradicted: bool = False  # a fact of it the quote says otherwise
    threshold: float = DEFAULT_SUPPORT_THRESHOLD

    def __post_init__(self) -> None:
        if self.score is None:
            self.score = 1.0 if self.supported else 0.0
        if not self.supported and self.score >= self.threshold:
            # refused by a later reading (the judge): its score says so too, just under the bar
            self.score = round(max(0.0, self.threshold - 0.01), 3)

    @property
    def verdict(self) -> SupportVerdict:
        return verdict_of(self.supported, self.contradicted)

    def sentence(self, passages: Sequence[Passage] = ()) -> Sentence:
        """`passages`: those it may cite, whose sources and dates it then carries."""
        by_n = {p.n: p for p in passages}
        return Sentence(
            text=self.claim,
            citations=self.cited,
            supported=self.supported,
            reason=self.reason,
            score=self.score,
            verdict=self.verdict,
            sources=[
                Attribution(n=n, source=by_n[n].source, published=by_n[n].published)
                for n in self.cited
                if n in by_n
            ],
        )


def check_sentence(
    parsed: ParsedSentence,
    passages: list[Passage],
    question: str | None = None,
    threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    *,
    disabled: frozenset[str] = frozenset(),
) -> CheckedSentence:
    """The word rules' reading (`rules_check`), then the support score: a sentence is supported
    when its score reaches `threshold`, and never when a fact of it is contradicted or it does
    not answer (stale, off the question)."""
    checked = rules_check(parsed, passages, question, disabled=disabled)
    reading = support_reading(parsed, checked, passages, question)
    if reading.kind != "scored" or reading.quote is None or reading.n is None:
        contradicted = reading.kind == "contradicted"
        refused = replace(checked, supported=False, score=0.0, contradicted=contradicted)
        if checked.supported or reading.reason and checked.reason == "no quote carries it":
            refused = replace(refused, reason=reading.reason)
        return replace(refused, threshold=threshold)
    score = model().score(reading.features)
    supported = score >= threshold
    if supported and not checked.supported:  # cited to the passage of the quote it was read on
        n = reading.n
        checked = replace(checked, cited=[n], quotes={n: reading.quote}, reason=None)
    if not supported and checked.supported:
        checked = replace(checked, reason="its quote covers too little of it")
    return replace(checked, supported=supported, score=round(score, 3), threshold=threshold)


@dataclass(frozen=True)
class Reading:
    """What the support score reads of a sentence the rules have checked: `refused` (it does
    not answer, or there was no quote to read), `contradicted` (a fact the quote or passage
    says otherwise) and `absent` (a name the passage never gives, a number no quote carries,
    less of its content than the rules ask of a quote) score 0; `scored` gives the
    model's features, on quote `quote` of passage `n`."""

    kind: Literal["refused", "contradicted", "absent", "scored"]
    n: int | None = None
    quote: Quote | None = None
    features: dict[str, float] = field(default_factory=dict)
    reason: str | None = None  # when the rules' reason does not say it


def support_reading(
    parsed: ParsedSentence,
    checked: CheckedSentence,
    passages: list[Passage],
    question: str | None = None,
) -> Reading:
    if not checked.quotes:  # refused before a quote was read, or no passage to read
        return Reading("refused")
    if checked.supported:  # the quote that carries it, else the closest
        n, quote = next(iter(checked.quotes.items()))
    else:
        n, quote = max(checked.quotes.items(), key=lambda item: item[1].verdict.coverage)
    if checked.reason and not quote.verdict.reason:  # the quote carries it, yet no answer
        return Reading("refused", n, quote)
    if quote.verdict.rule in CONTRADICTING_RULES:
        return Reading("contradicted", n, quote)
    passage = next(p for p in passages if p.n == n)
    claim = as_read(parsed.claim)
    tokens = with_names(tokenize(claim), claim)
    title = f"{passage.title} ({passage.source})" if passage.source else passage.title
    # the header as the rules read it: the title and the date line
    title = " ".join(t.text for t in header(title, passage.published, tokens).for_quote(()))
    if denies(tokens, tokenize(passage.text[quote.start : quote.end]), tokenize(title)):
        # it negates what the quote and title assert, the quote's own negation is elsewhere
        return Reading("contradicted", n, quote, reason="negated")
    if not checked.supported:
        # its facts: a number the passage never gives is another figure; a negation its quote
        # lacks, the opposite claim; a name the passage never gives, someone it does not speak of
        absent = absent_facts(tokens, stated(passage.text), title, question or "")
        numbers = [t for t in absent if t.number]
        if numbers:
            reason = f"number {numbers[0].text} not in passage"
            return Reading("contradicted", n, quote, reason=reason)
        if polarity_differs(tokens, tokenize(passage.text[quote.start : quote.end])):
            return Reading("contradicted", n, quote, reason="negated")
        if absent:
            return Reading("absent", n, quote, reason=f"name {absent[0].text} not in passage")
        if any(t.number for t in tokens):  # a figure is carried by a quote, not by its words
            return Reading("absent", n, quote)
    found = features(tokens, quote.verdict.rule, stated(passage.text), title, question or "")
    if not checked.supported and found["passage_coverage"] < MIN_COVERAGE:
        # the rules' bar, on the whole passage: worded differently across its sentences is
        # one thing, words the passage never has are content it does not give
        return Reading("absent", n, quote)
    return Reading("scored", n, quote, found)


def rules_check(
    parsed: ParsedSentence,
    passages: list[Passage],
    question: str | None = None,
    *,
    disabled: frozenset[str] = frozenset(),
) -> CheckedSentence:
    """Supported when one quote of a cited passage carries the claim. A sentence without a
    marker, or citing a passage that does not carry it, is cited to a passage that does (small
    models forget markers or miscount); otherwise it keeps the markers the model wrote. The
    rules (`rules.RULES`) apply stage by stage: each quote's ("quote", "pair": `best_quote`),
    then, once passages carry it, the answer's ("answer").
    `disabled`: rule names left out, for measurement only (benchmarks/ablation.py)."""
    disabled = known(disabled)
    by_n = {p.n: p for p in passages}
    cited = [n for n in parsed.cited if n in by_n]  # out-of-range markers are dropped
    quotes = {n: _quote(parsed.claim, by_n[n], question, disabled) for n in cited}
    carrying = [n for n in cited if quotes[n].verdict.supported]
    if not carrying:
        others = {
            n: _quote(parsed.claim, p, question, disabled)
            for n, p in by_n.items()
            if n not in quotes
        }
        best = sorted(
            (n for n, q in others.items() if q.verdict.supported),
            key=lambda n: (-others[n].verdict.coverage, n),
        )
        if best:
            quotes, carrying = {best[0]: others[best[0]]}, best[:1]
        elif not cited and others:  # show the closest quote it was checked against
            closest_n = max(others, key=lambda n: others[n].verdict.coverage)
            quotes, cited = {closest_n: others[closest_n]}, []
    if carrying and question:  # is it an answer to the question?
        newest = max((p.published[:10] for p in passages if p.published), default=None)
        rules = stage("answer", disabled)
        fresh = carrying  # an answer to "this week" from an article years older: stale
        if any(r.name == "stale" for r in rules):
            fresh = [n for n in carrying if not stale(question, by_n[n].published, newest)]
        reading = Answers(
            parsed.claim, question, [by_n[n] for n in carrying], [by_n[n] for n in fresh], newest
        )
        failed = first_failure(rules, reading)
        carrying = fresh or carrying
        if failed:
            kept = {n: quotes[n] for n in carrying}
            return CheckedSentence(parsed.claim, carrying, False, failed[1], kept)
    if carrying:
        return CheckedSentence(parsed.claim, carrying, True, None, {n: quotes[n] for n in carrying})
    closest = max(quotes.values(), key=lambda q: q.verdict.coverage, default=None)
    reason = closest.verdict.reason if closest else "no passage to check it against"
    return CheckedSentence(parsed.claim, cited, False, reason, quotes)


def _quote(claim: str, passage: Passage, question: str | None, disabled: frozenset[str]) -> Quote:
    # the outlet is part of the passage's header, as the model reads it: "NBC reported about
    # 12,000 troops [1]" is what the prompt asks for when reports disagree
    title = f"{passage.title} ({passage.source})" if passage.source else passage.title
    return best_quote(claim, passage.text, title, passage.published, question, disabled=disabled)


@dataclass
class CheckedAnswer:
    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    grounded: bool
    checked: list[CheckedSentence]

    @property
    def support_score(self) -> float | None:
        return support_score([c.score for c in self.checked])


def citation_for(n: int, quote: Quote, passage: Passage) -> Citation:
    fields = passage.model_dump(exclude={"n", "text", "start", "end", "also_reported_by"})
    return Citation(
        **fields,
        n=n,
        quote=passage.text[quote.start : quote.end],
        start=passage.start + quote.start,
        end=passage.start + quote.end,
    )


def assemble(checked: list[CheckedSentence], passages: list[Passage]) -> CheckedAnswer:
    """The answer is the supported sentences with their markers; the others are reported in
    `sentences` (with the reason) and left out. No supported sentence: the answer says so."""
    by_n = {p.n: p for p in passages}
    kept = [c for c in checked if c.supported]
    citations: dict[tuple[int, int, int], Citation] = {}  # one per distinct quote of a passage
    for c in kept:
        for n in c.cited:
            citation = citation_for(n, c.quotes[n], by_n[n])
            citations.setdefault((n, citation.start, citation.end), citation)
    sentences = [c.sentence(passages) for c in checked]
    if not kept:
        return CheckedAnswer(NOT_ANSWERED, [], sentences, False, checked)
    answer = " ".join(with_markers(c.claim, c.cited) for c in kept)
    ordered = [citations[key] for key in sorted(citations)]
    return CheckedAnswer(answer, ordered, sentences, True, checked)


def check_answer(
    text: str,
    passages: list[Passage],
    question: str | None = None,
    threshold: float = DEFAULT_SUPPORT_THRESHOLD,
    *,
    disabled: frozenset[str] = frozenset(),
) -> CheckedAnswer:
    """Parse a whole answer, check every sentence, assemble (what /check and `ask` do).
    `disabled`: rule names left out, for measurement only (benchmarks/ablation.py)."""
    checked = [
        check_sentence(p, passages, question, threshold, disabled=disabled)
        for p in parse_answer(text)
    ]
    return assemble(checked, passages)


def with_markers(claim: str, cited: list[int]) -> str:
    marks = "".join(f"[{n}]" for n in cited)
    if claim and claim[-1] in ".!?":
        return f"{claim[:-1]} {marks}{claim[-1]}"
    return f"{claim} {marks}"
