"""Does one quote carry a claim? An answer sentence is judged against single quotes (a sentence,
or two adjacent ones) of a passage - with the passage's title and date, which the model saw -
never against the passage's bag of words: every number and name of the claim must be in the
quote, most of its other words too, with the same polarity and the same roles (who did what to
whom). The first rule that fails is the reason given."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import Stemmer

from index.chunk import split_sentences

MIN_COVERAGE = 0.7  # share of the claim's content words the quote (or question) must hold
MIN_QUOTE_SHARE = 0.5  # ...and the quote itself, so a quote about something else cannot carry it
MIN_RELEVANCE = 0.3  # share of the question's content words the claim and its quote must touch
NEGATIONS = frozenset(
    "not no never without none neither nor nobody nothing deny denies denied".split()
)
ROLE_WORDS = frozenset("to from by against into toward towards".split())
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into over about after before
    than then that this these those there their they them it its is are was were be been
    being has have had do does did will would could should may might can so such
    which who whom what when where why how also more most some any all each other both up
    out said says say reportedly according he she his her we our you your i me my yes able
    us while during against through per via under between among amid
    week weeks weekend today yesterday tomorrow recently recent currently now latest just
    passage passages article articles""".split()
)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}
# irregular verbs, so "sent" and "send" (or "won" and "wins") are the same word
_IRREGULAR = {
    form: base
    for base, forms in {
        "send": "sent", "win": "won", "give": "gave given", "take": "took taken",
        "make": "made", "say": "said", "tell": "told", "lead": "led", "leave": "left",
        "hold": "held", "meet": "met", "pay": "paid", "sell": "sold", "buy": "bought",
        "bring": "brought", "begin": "began begun", "come": "came", "go": "went gone",
        "see": "saw seen", "find": "found", "fight": "fought", "think": "thought",
        "strike": "struck stricken", "spend": "spent", "build": "built", "lose": "lost",
        "choose": "chose chosen", "fall": "fell fallen", "rise": "rose risen",
        "become": "became", "run": "ran", "shoot": "shot", "stand": "stood",
        "drive": "drove driven", "fly": "flew flown", "grow": "grew grown",
        "know": "knew known", "throw": "threw thrown", "write": "wrote written",
        "break": "broke broken", "speak": "spoke spoken", "steal": "stole stolen",
        "keep": "kept", "seek": "sought", "teach": "taught", "catch": "caught",
        "feel": "felt", "mean": "meant", "sink": "sank sunk", "draw": "drew drawn",
        "withdraw": "withdrew withdrawn", "get": "got gotten", "show": "shown",
        "hide": "hid hidden", "swear": "swore sworn", "wear": "wore worn", "tear": "tore torn",
        "freeze": "froze frozen", "ride": "rode ridden", "forget": "forgot forgotten",
        "forbid": "forbade forbidden", "shake": "shook shaken", "eat": "ate eaten",
        "bear": "bore borne", "arise": "arose arisen", "overtake": "overtook overtaken",
        "undertake": "undertook undertaken", "uphold": "upheld", "oversee": "oversaw overseen",
    }.items()
    for form in forms.split()
}  # fmt: skip
_MONTHS = "january february march april may june july august september october november december"


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Token:
    text: str  # as written
    norm: str  # lower case; numbers without thousands separators; number words as digits
    stem: str
    content: bool
    name: bool  # capitalised mid-sentence (or a capitalised non-stopword first word)
    number: bool
    negation: bool


def tokenize(text: str) -> list[Token]:
    text = re.sub(r"n['’]t\b", " not", text).replace("cannot", "can not")
    tokens = []
    for i, match in enumerate(_WORD.finditer(text)):
        raw = match.group(0)
        low = raw.lower().replace("’", "'")
        number = raw[0].isdigit() or low in _NUMBER_WORDS
        if number:
            norm = _NUMBER_WORDS.get(low) or low.replace(",", "")
            norm = norm.rstrip(".")
        else:
            norm = low.removesuffix("'s")
        negation = low in NEGATIONS
        content = number or (norm not in STOPWORDS and len(norm) > 1 and not negation)
        name = not number and raw[0].isupper() and content and (i > 0 or len(raw) > 1)
        stem = norm if number else _stemmer().stemWord(_IRREGULAR.get(norm, norm))
        tokens.append(Token(raw, norm, stem, content, name, number, negation))
    return tokens


def _same(a: str, b: str) -> bool:
    """Same stem, or one a prefix of the other ("europ"/"european", "russia"/"russian")."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long.startswith(short)


@dataclass
class Evidence:
    """A quote (plus the passage header) as the verifier reads it."""

    tokens: list[Token]
    header: list[Token] = field(default_factory=list)
    title: list[Token] = field(default_factory=list)  # the header's title alone (it has roles)

    def __post_init__(self) -> None:
        every = self.tokens + self.header
        self.stems = {t.stem for t in every if t.content}
        self.numbers = {t.norm for t in every if t.number}
        self.lower = {t.norm for t in every}

    def has(self, token: Token) -> bool:
        if token.number:
            return token.norm in self.numbers
        if token.stem in self.stems or token.norm in self.lower:
            return True
        return any(_same(token.stem, s) for s in self.stems)


def header_tokens(title: str | None, published: str | None) -> list[Token]:
    """The title and the date (as the prompt shows it, and as words: 'June 16, 2022')."""
    text = title or ""
    if published:
        try:
            day = date.fromisoformat(published[:10])
            month = _MONTHS.split()[day.month - 1]
            text += f" {day.isoformat()} {day.year} {day.day} {month.capitalize()}"
        except ValueError:
            text += f" {published}"
    return tokenize(text)


@dataclass
class Verdict:
    supported: bool
    reason: str | None  # why not; None when supported
    coverage: float


def judge(claim: list[Token], evidence: Evidence, premise: Evidence | None = None) -> Verdict:
    """The first failing rule, in the order a reader would notice it. `premise`: the question,
    whose words the claim may repeat without the quote repeating them ("which country promised
    Kyiv...?" - "Germany promised Kyiv..." needs only Germany's promise in the quote)."""
    content = [t for t in claim if t.content]
    if not content:
        return Verdict(False, "no claim to check", 0.0)
    found = [evidence.has(t) for t in content]
    given = [f or bool(premise and premise.has(t)) for t, f in zip(content, found, strict=True)]
    covered = sum(found) / len(content)  # ranks quotes: the one that says most of it
    missing_numbers = [t for t, g in zip(content, given, strict=True) if t.number and not g]
    if missing_numbers:
        return Verdict(False, f"number {missing_numbers[0].text} not in quote", covered)
    missing_names = [t for t, g in zip(content, given, strict=True) if t.name and not g]
    if missing_names:
        return Verdict(False, f"name {missing_names[0].text} not in quote", covered)
    if sum(given) / len(content) < MIN_COVERAGE or covered < MIN_QUOTE_SHARE:
        return Verdict(False, "no quote carries it", covered)
    if _polarity_differs(claim, evidence.tokens):
        return Verdict(False, "negated", covered)
    references = [evidence.tokens, evidence.title, premise.tokens if premise else []]
    if any(_roles_differ(claim, reference) for reference in references):
        return Verdict(False, "roles differ from quote", covered)
    return Verdict(True, None, covered)


def _negated_stems(tokens: list[Token], window: int = 4) -> set[str]:
    """Stems of content words within `window` words after a negation."""
    found: set[str] = set()
    for i, t in enumerate(tokens):
        if t.negation:
            found |= {u.stem for u in tokens[i + 1 : i + 1 + window] if u.content}
    return found


def _polarity_differs(claim: list[Token], quote: list[Token]) -> bool:
    claim_neg = any(t.negation for t in claim)
    quote_neg = any(t.negation for t in quote)
    if claim_neg and not quote_neg:
        return True
    # the claim asserts what the quote negates, or negates what the quote asserts
    in_claim, in_quote = _negated_stems(claim), _negated_stems(quote)
    quote_stems = {t.stem for t in quote if t.content}
    claim_stems = {t.stem for t in claim if t.content}
    negated_only_in_claim = {s for s in in_claim - in_quote if s in quote_stems and not s.isdigit()}
    negated_only_in_quote = {
        s for s in in_quote - in_claim if s in claim_stems and not s.isdigit()
    } - _names(claim)
    return bool(negated_only_in_claim) or (bool(negated_only_in_quote) and not claim_neg)


def _names(tokens: list[Token]) -> set[str]:
    return {t.stem for t in tokens if t.name}


Mention = tuple[frozenset[str], int, str | None]  # name stems, position, role word before it


def _mentions(tokens: list[Token]) -> list[Mention]:
    """Each run of capitalised words, with the role word (to/from/by/against) just before it."""
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        if not tokens[i].name:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1].name:
            j += 1
        before = [t.norm for t in tokens[max(0, i - 2) : i]]
        role = next((w for w in reversed(before) if w in ROLE_WORDS), None)
        found.append((frozenset(t.stem for t in tokens[i : j + 1]), i, role))
        i = j + 1
    return found


def _roles_differ(claim: list[Token], quote: list[Token]) -> bool:
    """Two names of the claim that the quote also has, in swapped roles: the role word before
    one (to/from/by/against) stands before the other in the quote, or, with no role words,
    their order around a shared word is reversed ("A defeated B" / "B defeated A")."""
    claim_names = _mentions(claim)
    quote_names = _mentions(quote)
    if len(claim_names) < 2 or len(quote_names) < 2:
        return False

    def in_quote(stems: frozenset[str]) -> list[Mention]:
        return [m for m in quote_names if m[0] & stems]

    shared = [m for m in claim_names if in_quote(m[0])]
    for stems, _, role in shared:
        if role is None or any(role == r for _, _, r in in_quote(stems)):
            continue
        others = [m for m in shared if not m[0] & stems]
        if any(role == r for o in others for _, _, r in in_quote(o[0])):
            return True
    if any(t.norm == "by" for t in claim) != any(t.norm == "by" for t in quote):
        return False  # one of them is passive: the order may differ
    plain = [(m, in_quote(m[0])[0]) for m in shared if m[2] is None]
    for (a, qa_), (b, qb) in zip(plain, plain[1:], strict=False):
        if a[0] & b[0] or qa_[1] <= qb[1]:
            continue
        between_claim = {t.stem for t in claim[a[1] + 1 : b[1]] if t.content and not t.name}
        between_quote = {t.stem for t in quote[qb[1] + 1 : qa_[1]] if t.content and not t.name}
        if between_claim & between_quote:
            return True
    return False


@dataclass
class Quote:
    start: int  # offsets into the passage text
    end: int
    verdict: Verdict


@lru_cache(maxsize=2048)
def _units(text: str) -> tuple[tuple[int, int, tuple[Token, ...]], ...]:
    """Each sentence of a passage, and each two adjacent ones, with their tokens."""
    spans = split_sentences(text)
    sentences = [(s.start, s.end, tuple(tokenize(text[s.start : s.end]))) for s in spans]
    pairs = [(a[0], b[1], a[2] + b[2]) for a, b in zip(sentences, sentences[1:], strict=False)]
    return tuple(sentences + pairs)


def best_quote(
    claim: str, text: str, title: str | None, published: str | None, question: str | None = None
) -> Quote:
    """The quote of `text` that carries `claim` (a supported one first, then the closest)."""
    tokens = tokenize(claim)
    premise = Evidence(tokenize(question)) if question else None
    header = header_tokens(title, published)
    title_tokens = tokenize(title or "")
    best: Quote | None = None
    for start, end, unit in _units(text):
        verdict = judge(tokens, Evidence(list(unit), header, title_tokens), premise)
        quote = Quote(start, end, verdict)
        if best is None or _better(quote, best):
            best = quote
    if best is None:  # a passage without sentences: its header alone
        return Quote(0, len(text), judge(tokens, Evidence([], header, title_tokens), premise))
    return best


def _better(a: Quote, b: Quote) -> bool:
    """Supported beats unsupported; then higher coverage; then the shorter quote."""
    key_a = (a.verdict.supported, round(a.verdict.coverage, 6), -(a.end - a.start))
    key_b = (b.verdict.supported, round(b.verdict.coverage, 6), -(b.end - b.start))
    return key_a > key_b


_YES_NO = re.compile(
    r"^\s*(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b", re.I
)


def restates(claim: str, question: str) -> bool:
    """The claim adds no content word to an open question: it echoes it rather than answers
    (a small model's way of answering what the passages do not say). Yes/no questions can be
    answered in their own words, so they are left alone."""
    if _YES_NO.match(question):
        return False
    asked = Evidence(tokenize(question))
    content = [t for t in tokenize(claim) if t.content]
    return bool(content) and all(asked.has(t) for t in content)


def off_question(claim: str, quote: str, title: str | None, question: str) -> bool:
    """The claim and its quote touch too few of the question's words: a true sentence of the
    passages that does not answer this question (small models copy passages when the answer
    is not there)."""
    asked = {t.stem: t for t in tokenize(question) if t.content and t.norm not in _GENERIC}
    if len(asked) < 2:
        return False
    seen = Evidence(tokenize(claim) + tokenize(quote), tokenize(title or ""))
    return sum(seen.has(t) for t in asked.values()) / len(asked) < MIN_RELEVANCE


_GENERIC = frozenset("new year years time people day days first last many much one".split())
