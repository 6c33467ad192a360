"""Does one quote carry a claim? An answer sentence is judged against single quotes (a sentence,
or two adjacent ones) of a passage - with the passage's title and date, which the model saw -
never against the passage's bag of words: every number and name of the claim must be in the
quote, most of its other words too, with the same polarity and the same roles (who did what to
whom). The first rule that fails is the reason given."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from index.chunk import split_sentences
from qa.checking.analysis import with_names
from qa.checking.numbers import misplaced_numbers
from qa.checking.roles import borrowed_name, names, roles_differ
from qa.checking.tokens import MONTHS, Evidence, Token, tokenize
from qa.checking.words import word_set

MIN_COVERAGE = 0.7  # share of the claim's content words the quote (or question) must hold
MIN_QUOTE_SHARE = 0.5  # ...and the quote itself, so a quote about something else cannot carry it
MIN_RELEVANCE = 0.3  # share of the question's content words the claim and its quote must touch

# the rules' names, in the order they are applied (a name in `disabled` leaves that rule out)
RULE_NAMES = (
    "refusal",  # answer.py: the sentence says the passages do not answer
    "restates",  # answer.py: an open question's words, nothing added
    "number.missing",
    "number.unbound",  # numbers.py
    "number.other_item",
    "number.other_role",
    "name",
    "coverage",
    "negated.claim",
    "negated.words",
    "roles.words",  # roles.py
    "roles.context",
    "borrowed",  # best_quote: a name from the other sentence of a two-sentence quote
    "stale",  # answer.py
    "off_question",
    "off_question.names",
)


@dataclass(frozen=True)
class Header:
    """The title and the date line the prompt showed with a passage: its year, its month, and
    its day when the claim names the month (a bare "1" is not carried by the first of a month)."""

    title: list[Token]
    date: list[Token]
    day: list[Token]
    month: tuple[str, ...] = ()

    def for_quote(self, quote: Sequence[Token]) -> list[Token]:
        # "July 12" from the date line, unless the quote gives its own July day
        if self.day and not any(t.norm in self.month for t in quote):
            return self.title + self.date + self.day
        return self.title + self.date


def header(title: str | None, published: str | None, claim: list[Token]) -> Header:
    title_tokens = tokenize(title or "")
    try:
        day = date.fromisoformat((published or "")[:10])
    except ValueError:
        return Header(title_tokens, [], [])
    month = MONTHS.split()[day.month - 1]
    names = (month, month[:3])
    named = any(t.norm in names for t in claim)
    dated = tokenize(f"{day.year} {month.capitalize()}")
    return Header(title_tokens, dated, tokenize(str(day.day)) if named else [], names)


@dataclass
class Verdict:
    supported: bool
    reason: str | None  # why not; None when supported
    coverage: float


def judge(
    claim: list[Token],
    evidence: Evidence,
    premise: Evidence | None = None,
    premise_roles: bool = False,
    disabled: frozenset[str] = frozenset(),
) -> Verdict:
    """The first failing rule, in the order a reader would notice it. `premise`: the question,
    whose words the claim may repeat without the quote repeating them ("which country promised
    Kyiv...?" - "Germany promised Kyiv..." needs only Germany's promise in the quote).
    `disabled`: rule names left out (measurement only: benchmarks/ablation.py)."""
    content = [t for t in claim if t.content]
    if not content:
        return Verdict(False, "no claim to check", 0.0)
    found = [evidence.has(t) for t in content]
    given = [f or bool(premise and premise.has(t)) for t, f in zip(content, found, strict=True)]
    covered = sum(found) / len(content)  # ranks quotes: the one that says most of it
    missing_numbers = []
    if "number.missing" not in disabled:
        missing_numbers += [t for t in content if t.number and not evidence.has(t)]
    missing_numbers += misplaced_numbers(claim, evidence.tokens, disabled)
    if missing_numbers:
        return Verdict(False, f"number {missing_numbers[0].text} not in quote", covered)
    missing_names = [t for t, g in zip(content, given, strict=True) if t.name and not g]
    if missing_names and "name" not in disabled:
        return Verdict(False, f"name {missing_names[0].text} not in quote", covered)
    short = sum(given) / len(content) < MIN_COVERAGE or covered < MIN_QUOTE_SHARE
    if short and "coverage" not in disabled:
        return Verdict(False, "no quote carries it", covered)
    if _polarity_differs(claim, evidence.tokens, disabled):
        return Verdict(False, "negated", covered)
    # an open question's roles are given ("nearest to the Sun"); a yes/no one's are in doubt
    references = [evidence.tokens, evidence.title]
    if premise and premise_roles:
        references.append(premise.tokens)
    if any(roles_differ(claim, reference, disabled) for reference in references):
        return Verdict(False, "roles differ from quote", covered)
    return Verdict(True, None, covered)


def _negated_stems(tokens: list[Token], window: int = 4) -> set[str]:
    """Stems of content words within `window` words after a negation."""
    found: set[str] = set()
    for i, t in enumerate(tokens):
        if t.negation:
            found |= {u.stem for u in tokens[i + 1 : i + 1 + window] if u.content}
    return found


def _polarity_differs(
    claim: list[Token], quote: list[Token], disabled: frozenset[str] = frozenset()
) -> bool:
    claim_neg = any(t.negation for t in claim)
    quote_neg = any(t.negation for t in quote)
    if claim_neg and not quote_neg and "negated.claim" not in disabled:
        return True
    if "negated.words" in disabled:
        return False
    # the claim asserts what the quote negates, or negates what the quote asserts
    in_claim, in_quote = _negated_stems(claim), _negated_stems(quote)
    quote_stems = {t.stem for t in quote if t.content}
    claim_stems = {t.stem for t in claim if t.content}
    negated_only_in_claim = {s for s in in_claim - in_quote if s in quote_stems and not s.isdigit()}
    negated_only_in_quote = {
        s for s in in_quote - in_claim if s in claim_stems and not s.isdigit()
    } - names(claim)
    return bool(negated_only_in_claim) or (bool(negated_only_in_quote) and not claim_neg)


@dataclass
class Quote:
    start: int  # offsets into the passage text
    end: int
    verdict: Verdict


@lru_cache(maxsize=2048)
def _units(text: str) -> tuple[tuple[int, int, tuple[Token, ...], int], ...]:
    """Each sentence of a passage, and each two adjacent ones, with their tokens and where the
    second sentence's tokens begin (0 for a single sentence)."""
    spans = split_sentences(text)
    sentences = [(s.start, s.end, tuple(tokenize(text[s.start : s.end])), 0) for s in spans]
    pairs = [
        (a[0], b[1], a[2] + b[2], len(a[2])) for a, b in zip(sentences, sentences[1:], strict=False)
    ]
    return tuple(sentences + pairs)


def best_quote(
    claim: str,
    text: str,
    title: str | None,
    published: str | None,
    question: str | None = None,
    disabled: frozenset[str] = frozenset(),
) -> Quote:
    """The quote of `text` that carries `claim` (a supported one first, then the closest)."""
    read = as_read(claim)
    tokens = with_names(tokenize(read), read)
    premise = Evidence(tokenize(question)) if question else None
    open_question = bool(question) and not yes_no(question or "")
    head = header(title, published, tokens)
    best: Quote | None = None
    for start, end, unit, split in _units(text):
        evidence = Evidence(list(unit), head.for_quote(unit), head.title)
        verdict = judge(tokens, evidence, premise, open_question, disabled)
        if verdict.supported and split and "borrowed" not in disabled:
            borrowed = borrowed_name(tokens, list(unit[:split]), list(unit[split:]), premise)
            if borrowed:
                reason = f"name {borrowed.text} is from another sentence"
                verdict = Verdict(False, reason, verdict.coverage)
        quote = Quote(start, end, verdict)
        if best is None or _better(quote, best):
            best = quote
    if best is None:  # a passage without sentences: its header alone
        evidence = Evidence([], head.for_quote(()), head.title)
        return Quote(0, len(text), judge(tokens, evidence, premise, open_question, disabled))
    return best


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_PASSAGE_REF = re.compile(r"\b(?:from |in |see )?passages? ?\[?\d+\]?", re.I)


def as_read(claim: str) -> str:
    """The claim as it is checked: "passage 2" is the model pointing at its source, not a
    number it claims, and "2022-11-03" (the date line's form) is 3 November 2022."""
    claim = _PASSAGE_REF.sub("", claim)

    def spelled(m: re.Match[str]) -> str:
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            return m.group(0)
        return f"{day} {MONTHS.split()[month - 1].capitalize()} {year}"

    return _ISO_DATE.sub(spelled, claim)


def _better(a: Quote, b: Quote) -> bool:
    """Supported beats unsupported; then higher coverage; then the shorter quote."""
    key_a = (a.verdict.supported, round(a.verdict.coverage, 6), -(a.end - a.start))
    key_b = (b.verdict.supported, round(b.verdict.coverage, 6), -(b.end - b.start))
    return key_a > key_b


_YES_NO = re.compile(
    r"^\s*(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b", re.I
)


def yes_no(question: str) -> bool:
    return bool(_YES_NO.match(question))


def restates(claim: str, question: str) -> bool:
    """The claim adds no content word to an open question: it echoes it rather than answers
    (a small model's way of answering what the passages do not say). Yes/no questions can be
    answered in their own words, so they are left alone."""
    if yes_no(question):
        return False
    asked = Evidence(tokenize(question))
    content = [t for t in tokenize(claim) if t.content]
    return bool(content) and all(asked.has(t) for t in content)


def off_question(
    claim: str,
    passage: str,
    title: str | None,
    question: str,
    disabled: frozenset[str] = frozenset(),
) -> bool:
    """The claim and its passage touch too few of the question's words: a true sentence of a
    passage about something else (small models copy passages when the answer is not there)."""
    words = tokenize(question)
    asked = {t.stem: t for t in words if t.content and t.norm not in word_set("generic_words")}
    if len(asked) < 2:
        return False
    seen = Evidence(tokenize(claim) + tokenize(passage), tokenize(title or ""))
    touched = sum(seen.has(t) for t in asked.values()) / len(asked)
    if touched < MIN_RELEVANCE and "off_question" not in disabled:
        return True
    if "off_question.names" in disabled:
        return False
    # the names the question asks about ("Disney ... in Australia"): a passage that names none
    # of them is about something else. Not its first word (only capitalised), nor acronyms,
    # which passages often spell out ("EVs": "electric cars")
    names = [t for t in words[1:] if t.name and not t.text.rstrip("s").isupper()]
    return bool(names) and not any(seen.has(t) for t in names)


# a question about the news of the moment: an answer from an article years older is another story
_RECENT = re.compile(
    r"\b(this (week|month|year|weekend|fall|autumn|summer|spring|winter)|last (week|month)"
    r"|recent(ly)?|latest|newest|new|now|currently|today|yesterday|just)\b",
    re.I,
)
STALE_DAYS = 365


def stale(question: str, published: str | None, newest: str | None) -> int | None:
    """Days by which the article carrying an answer is older than the newest passage, when the
    question asks about recent news ("this week", "new", "latest") and the gap exceeds
    STALE_DAYS (else None). Retrieval reaches back years for a word match: McGriddles (2016)
    are not the "new treat" of a question asked in 2022, whose articles are from 2022."""
    if not (published and newest and _RECENT.search(question)):
        return None
    try:
        gap = (date.fromisoformat(newest[:10]) - date.fromisoformat(published[:10])).days
    except ValueError:
        return None
    return gap if gap > STALE_DAYS else None
