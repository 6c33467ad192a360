"""Does one quote carry a claim? An answer sentence is judged against single quotes (a sentence,
or two adjacent ones) of a passage - with the passage's title and date, which the model saw -
never against the passage's bag of words: every number and name of the claim must be in the
quote, most of its other words too, with the same polarity and the same roles (who did what to
whom). The first rule that fails is the reason given.

The rules are units (`Rule`: a name, the check - whose docstring says what it detects - and the
reason text), declared in one ordered tuple at the end of this module (`RULES`). `judge` applies
the quote rules, `best_quote` the two-sentence quote's, and checking/answer.py `check_sentence`
the answer's (once passages carry it), each in that order.
`disabled` (rule names) leaves rules out, for measurement only (benchmarks/ablation.py)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from index.chunk import split_sentences
from qa.checking.analysis import with_names
from qa.checking.numbers import numbers_in_other_roles, numbers_of_others, unbound_numbers
from qa.checking.roles import borrowed_name, contexts_swapped, names, role_words_swapped
from qa.checking.tokens import MONTHS, Evidence, Token, tokenize
from qa.checking.words import word_set
from qa.domain import Passage

MIN_COVERAGE = 0.7  # share of the claim's content words the quote (or question) must hold
MIN_QUOTE_SHARE = 0.5  # ...and the quote itself, so a quote about something else cannot carry it
MIN_RELEVANCE = 0.3  # share of the question's content words the claim and its quote must touch


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
    # the rule that failed: "number", "name", "coverage", "negated", "roles", "borrowed"
    rule: str | None = None


@dataclass(frozen=True)
class Reading:
    """A claim against one quote, as the quote rules read it: its content words, which of them
    the quote has (`found`) or the question gives (`given`), and the share the quote has."""

    claim: list[Token]
    evidence: Evidence
    premise: Evidence | None
    premise_roles: bool  # an open question: its words' roles are given too
    content: list[Token]
    found: list[bool]
    given: list[bool]

    @property
    def covered(self) -> float:
        return sum(self.found) / len(self.content)

    @property
    def references(self) -> list[list[Token]]:
        """What the claim's roles are read against: the quote, the title and, for an open
        question, the question ("nearest to the Sun"); a yes/no one's are in doubt."""
        found = [self.evidence.tokens, self.evidence.title]
        if self.premise and self.premise_roles:
            found.append(self.premise.tokens)
        return found


@dataclass(frozen=True)
class Pair:
    """A quote of two adjacent sentences whose words carry the claim (the "borrowed" rule)."""

    claim: list[Token]
    first: list[Token]
    second: list[Token]
    premise: Evidence | None


@dataclass(frozen=True)
class Answers:
    """A sentence some passages carry, and the question it should answer: `passages` are the
    carrying ones, `fresh` those of them the "stale" rule keeps (all when it is disabled), and
    `newest` the newest date among all the passages retrieved."""

    claim: str
    question: str
    passages: list[Passage]
    fresh: list[Passage]
    newest: str | None


Stage = Literal["quote", "pair", "answer"]
Found = tuple[object, ...] | None  # what a check found: the reason's blanks, None = it passes
C = TypeVar("C", Reading, Pair, Answers)


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One rule of the check: `check` says what it detects (its docstring) and returns what the
    reason's blanks name when it fires. `stage`: what it reads - one quote (`Reading`), a
    two-sentence quote (`Pair`), or the sentence as an answer to the question once passages
    carry it (`Answers`). `name`: what `disabled` and the
    ablation call it; the part before the dot is the rule a Verdict reports."""

    name: str
    stage: Stage
    reason: str  # the reason /check gives, with {} for what the check found
    check: Callable[[C], Found]

    @property
    def detects(self) -> str:
        return inspect.getdoc(self.check) or ""

    @property
    def family(self) -> str:
        return self.name.split(".")[0]

    def fires(self, reading: C) -> str | None:
        """The reason when the rule fails the claim, else None."""
        found = self.check(reading)
        return None if found is None else self.reason.format(*found)


def _first(tokens: Sequence[Token]) -> Found:
    return (tokens[0].text,) if tokens else None


def _number_missing(r: Reading) -> Found:
    """A number of the claim the quote (with its title and date line) does not have, nor the
    question ("suspended for two years" answering "...after being suspended for two years?"
    repeats the asker's figure, as a name of the question may be repeated)."""
    return _first([t for t, g in zip(r.content, r.given, strict=True) if t.number and not g])


def _number_unbound(r: Reading) -> Found:
    """A number the quote has, but never beside the word it goes with in the claim ("1 months"
    against "six months" and a "1" elsewhere)."""
    return _first(unbound_numbers(r.claim, r.evidence.tokens))


def _number_other_item(r: Reading) -> Found:
    """A number the quote lists beside another item, while it gives the claim's item a number
    of its own ("bacon rose 38%" against "eggs soared 38% ... and bacon 9.2%")."""
    return _first(numbers_of_others(r.claim, r.evidence.tokens))


def _number_other_role(r: Reading) -> Found:
    """A number after "to"/"from"/"by" in the claim that the quote gives another role, while
    another number of its own takes that role ("raise the wage to $15" against "to up to $22
    an hour - well above the $15")."""
    return _first(numbers_in_other_roles(r.claim, r.evidence.tokens))


def _name_missing(r: Reading) -> Found:
    """A name of the claim (a word spaCy reads as a name) that neither the quote, its header nor
    the question has."""
    return _first([t for t, g in zip(r.content, r.given, strict=True) if t.name and not g])


def _coverage(r: Reading) -> Found:
    """Less than MIN_COVERAGE of the claim's content words are in the quote (or the question),
    or less than MIN_QUOTE_SHARE in the quote itself."""
    given = sum(r.given) / len(r.content)
    return () if given < MIN_COVERAGE or r.covered < MIN_QUOTE_SHARE else None


def _negation_added(r: Reading) -> Found:
    """The claim has a negation ("did not", "never", "denied") and the quote has none."""
    return () if negation_added(r.claim, r.evidence.tokens) else None


def _negated_words(r: Reading) -> Found:
    """The claim negates words the quote asserts, or asserts words the quote negates (within
    four words after a negation)."""
    return () if negated_words(r.claim, r.evidence.tokens) else None


def _roles_by_words(r: Reading) -> Found:
    """Two names in swapped roles: the role word (to/from/by/against) before one stands before
    the other in the quote, or "A ... B" is "B ... A" around the same verb."""
    return () if any(role_words_swapped(r.claim, ref) for ref in r.references) else None


def _roles_by_context(r: Reading) -> Found:
    """Two names each standing where the quote has the other: the words beside them match the
    quote's better swapped ("Las Vegas will launch an Adele residency")."""
    return () if any(contexts_swapped(r.claim, ref) for ref in r.references) else None


def _borrowed(p: Pair) -> Found:
    """In a quote of two sentences, a name (or number) only one of them has, while the other
    says the rest of the claim of a name (a number of the same kind) of its own ("Ted Lasso
    received the most nominations" from "Succession earned the most nominations... Ted Lasso
    led the comedy category")."""
    borrowed = borrowed_name(p.claim, p.first, p.second, p.premise)
    return ("number" if borrowed.number else "name", borrowed.text) if borrowed else None


def _stale(a: Answers) -> Found:
    """A question about recent news ("this week", "new", "latest") answered only from articles
    more than STALE_DAYS older than the newest passage."""
    gaps = [stale(a.question, p.published, a.newest) for p in a.passages]
    if not gaps or not all(gaps):
        return None
    return a.passages[0].published, gaps[0]


def _off_question(a: Answers) -> Found:
    """The sentence and its passage touch less than MIN_RELEVANCE of the question's words (its
    passage, not just the quote: the context that makes it an answer)."""
    p = a.fresh[0] if a.fresh else None
    return () if p and off_topic(a.claim, p.text, p.title, a.question) else None


def _unasked_names(a: Answers) -> Found:
    """The passage names none of the names the question asks about ("Disney ... in
    Australia"); not its first word, nor acronyms, which passages often spell out."""
    p = a.fresh[0] if a.fresh else None
    return () if p and names_unanswered(a.claim, p.text, p.title, a.question) else None


def stage(name: Stage, disabled: frozenset[str] = frozenset()) -> list[Rule[Any]]:
    """The rules of one stage, in the declared order, without the `disabled` ones."""
    return [r for r in RULES if r.stage == name and r.name not in disabled]


def first_failure(rules: Sequence[Rule[C]], reading: C) -> tuple[Rule[C], str] | None:
    """The first rule that fails the claim, and its reason."""
    for rule in rules:
        reason = rule.fires(reading)
        if reason is not None:
            return rule, reason
    return None


def known(disabled: frozenset[str]) -> frozenset[str]:
    """`disabled`, once every name in it is checked to be a rule's."""
    unknown = disabled - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"no such rule: {', '.join(sorted(unknown))}")
    return disabled


def judge(
    claim: list[Token],
    evidence: Evidence,
    premise: Evidence | None = None,
    premise_roles: bool = False,
    *,
    disabled: frozenset[str] = frozenset(),
) -> Verdict:
    """The first failing quote rule, in the declared order (`RULES`: the order a reader would
    notice it). `premise`: the question, whose words the claim may repeat without the quote
    repeating them ("which country promised Kyiv...?" - "Germany promised Kyiv..." needs only
    Germany's promise in the quote). `disabled`: rule names left out (measurement only:
    benchmarks/ablation.py)."""
    content = [t for t in claim if t.content]
    if not content:
        return Verdict(False, "no claim to check", 0.0, "coverage")
    found = [evidence.has(t) for t in content]
    given = [f or bool(premise and premise.has(t)) for t, f in zip(content, found, strict=True)]
    reading = Reading(claim, evidence, premise, premise_roles, content, found, given)
    covered = reading.covered  # ranks quotes: the one that says most of it
    failed = first_failure(stage("quote", disabled), reading)
    if failed:
        return Verdict(False, failed[1], covered, failed[0].family)
    return Verdict(True, None, covered)


def _negated_stems(tokens: list[Token], window: int = 4) -> set[str]:
    """Stems of content words within `window` words after a negation."""
    found: set[str] = set()
    for i, t in enumerate(tokens):
        if t.negation:
            found |= {u.stem for u in tokens[i + 1 : i + 1 + window] if u.content}
    return found


def negation_added(claim: list[Token], quote: list[Token]) -> bool:
    return any(t.negation for t in claim) and not any(t.negation for t in quote)


def negated_words(claim: list[Token], quote: list[Token]) -> bool:
    """The claim asserts what the quote negates, or negates what the quote asserts."""
    claim_neg = any(t.negation for t in claim)
    in_claim, in_quote = _negated_stems(claim), _negated_stems(quote)
    quote_stems = {t.stem for t in quote if t.content}
    claim_stems = {t.stem for t in claim if t.content}
    negated_only_in_claim = {s for s in in_claim - in_quote if s in quote_stems and not s.isdigit()}
    negated_only_in_quote = {
        s for s in in_quote - in_claim if s in claim_stems and not s.isdigit()
    } - names(claim)
    return bool(negated_only_in_claim) or (bool(negated_only_in_quote) and not claim_neg)


def polarity_differs(claim: list[Token], quote: list[Token]) -> bool:
    return negation_added(claim, quote) or negated_words(claim, quote)


@dataclass
class Quote:
    start: int  # offsets into the passage text
    end: int
    verdict: Verdict


# a quiz's option under its question ("A. IKEA"), a dateline ("Washington CNN —")
_OPTION = re.compile(r"^\(?[A-Da-d][.)]\s")
_DATELINE = re.compile(r"^(?:\S+\s+){0,5}\S*\s*[—–]\s*$")


def asserts(sentence: str, after_question: bool) -> bool:
    """Does a sentence of a passage state anything a quote can carry? Not a question (nor an
    option listed under one: "Which company...? A. IKEA B. Bed Bath & Beyond" states neither),
    nor a dateline (where the article was filed, not where its story happened)."""
    text = sentence.strip()
    if text.endswith("?") or _DATELINE.match(text):
        return False
    return not (after_question and _OPTION.match(text))


@lru_cache(maxsize=2048)
def _units(text: str) -> tuple[tuple[int, int, tuple[Token, ...], int], ...]:
    """Each sentence of a passage that states something (`asserts`), and each two adjacent
    ones, with their tokens and where the second sentence's tokens begin (0 for a single
    sentence)."""
    sentences: list[tuple[int, int, tuple[Token, ...], int] | None] = []
    after_question = False
    for s in split_sentences(text):
        piece = text[s.start : s.end]
        if asserts(piece, after_question):
            sentences.append((s.start, s.end, tuple(tokenize(piece)), 0))
            after_question = after_question and bool(_OPTION.match(piece.strip()))
        else:
            sentences.append(None)  # a gap: no quote spans it
            after_question = piece.strip().endswith("?") or (
                after_question and bool(_OPTION.match(piece.strip()))
            )
    pairs = [
        (a[0], b[1], a[2] + b[2], len(a[2]))
        for a, b in zip(sentences, sentences[1:], strict=False)
        if a and b
    ]
    return tuple([u for u in sentences if u] + pairs)


@lru_cache(maxsize=256)
def stated(text: str) -> str:
    """What a passage states: its sentences that assert something (`asserts`), as the support
    score reads the passage around a quote - a quiz's options are not the article's facts."""
    return " ".join(text[u[0] : u[1]] for u in _units(text) if not u[3])


def best_quote(
    claim: str,
    text: str,
    title: str | None,
    published: str | None,
    question: str | None = None,
    *,
    disabled: frozenset[str] = frozenset(),
) -> Quote:
    """The quote of `text` that carries `claim` (a supported one first, then the closest)."""
    read = as_read(claim)
    tokens = with_names(tokenize(read), read)
    premise = Evidence(tokenize(question)) if question else None
    open_question = bool(question) and not yes_no(question or "")
    head = header(title, published, tokens)
    pair_rules = stage("pair", disabled)
    best: Quote | None = None
    for start, end, unit, split in _units(text):
        evidence = Evidence(list(unit), head.for_quote(unit), head.title)
        verdict = judge(tokens, evidence, premise, open_question, disabled=disabled)
        if verdict.supported and split:
            pair = Pair(tokens, list(unit[:split]), list(unit[split:]), premise)
            failed = first_failure(pair_rules, pair)
            if failed:
                verdict = Verdict(False, failed[1], verdict.coverage, failed[0].family)
        quote = Quote(start, end, verdict)
        if best is None or _better(quote, best):
            best = quote
    if best is None:  # a passage without sentences: its header alone
        evidence = Evidence([], head.for_quote(()), head.title)
        return Quote(
            0, len(text), judge(tokens, evidence, premise, open_question, disabled=disabled)
        )
    return best


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_PASSAGE_REF = re.compile(r"\b(?:from |in |see )?passages? ?\[?\d+\]?", re.I)
# a list item's number or bullet ("2. A 2014 film...", "- The club..."): the list's order, not
# a figure the claim makes
_LIST_ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[.)]|[-*\u2022])\s+")


def as_read(claim: str) -> str:
    """The claim as it is checked: "passage 2" is the model pointing at its source, not a
    number it claims, and "2022-11-03" (the date line's form) is 3 November 2022; a list item's number ("2. ") is its
    place in the list."""
    claim = _PASSAGE_REF.sub("", _LIST_ITEM.sub("", claim))

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


def _asked(question: str) -> dict[str, Token]:
    words = tokenize(question)
    return {t.stem: t for t in words if t.content and t.norm not in word_set("generic_words")}


def off_topic(claim: str, passage: str, title: str | None, question: str) -> bool:
    """The claim and its passage touch too few of the question's words: a true sentence of a
    passage about something else (small models copy passages when the answer is not there)."""
    asked = _asked(question)
    if len(asked) < 2:
        return False
    seen = Evidence(tokenize(claim) + tokenize(passage), tokenize(title or ""))
    return sum(seen.has(t) for t in asked.values()) / len(asked) < MIN_RELEVANCE


def names_unanswered(claim: str, passage: str, title: str | None, question: str) -> bool:
    """The names the question asks about ("Disney ... in Australia"): a passage that names none
    of them is about something else. Not its first word (only capitalised), nor acronyms,
    which passages often spell out ("EVs": "electric cars")."""
    if len(_asked(question)) < 2:
        return False
    seen = Evidence(tokenize(claim) + tokenize(passage), tokenize(title or ""))
    names = [t for t in tokenize(question)[1:] if t.name and not t.text.rstrip("s").isupper()]
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


_NUMBER = "number {} not in quote"
_ROLES = "roles differ from quote"
_ANSWERS = "does not answer the question"

# The rules, in the order they are applied: a sentence's reason is the first that fails it.
# Each is its check (what it detects: the function's docstring) and its reason; tests in
# tests/checking/test_rule_units.py, what each catches on the measurement sets in
# docs/measurements.md ("What each rule catches").
RULES: tuple[Rule[Any], ...] = (
    Rule("number.missing", "quote", _NUMBER, _number_missing),
    Rule("number.unbound", "quote", _NUMBER, _number_unbound),
    Rule("number.other_item", "quote", _NUMBER, _number_other_item),
    Rule("number.other_role", "quote", _NUMBER, _number_other_role),
    Rule("name", "quote", "name {} not in quote", _name_missing),
    Rule("coverage", "quote", "no quote carries it", _coverage),
    Rule("negated.claim", "quote", "negated", _negation_added),
    Rule("negated.words", "quote", "negated", _negated_words),
    Rule("roles.words", "quote", _ROLES, _roles_by_words),
    Rule("roles.context", "quote", _ROLES, _roles_by_context),
    Rule("borrowed", "pair", "{} {} is from another sentence", _borrowed),
    Rule("stale", "answer", "recent news asked; its article ({}) is {} days older", _stale),
    Rule("off_question", "answer", _ANSWERS, _off_question),
    Rule("off_question.names", "answer", _ANSWERS, _unasked_names),
)
RULE_NAMES = tuple(r.name for r in RULES)
