"""Words as the claim check reads them: numbers normalised ("12,000" = "12000", "three" = "3",
"$4 billion" one number), stems with irregular verbs folded, names and negations marked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import Stemmer

from qa.checking.words import word_map, word_set

_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
_NUMBER_WORDS = {  # not "one": "one of the largest" counts nothing
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
    if i >= 2
}
MONTHS = "january february march april may june july august september october november december"


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


def stopwords() -> frozenset[str]:
    return word_set("stopwords")


def tokenize(text: str) -> list[Token]:
    negations, stop = word_set("negations"), stopwords()
    scales = word_map("scales")
    irregular, demonyms = word_map("irregular_verbs", forward=False), word_map("demonyms")
    text = re.sub(r"n['’]t\b", " not", text).replace("cannot", "can not")
    tokens: list[Token] = []
    ends: list[int] = []  # where each token ends in `text`
    for i, match in enumerate(_WORD.finditer(text)):
        raw = match.group(0)
        low = raw.lower().replace("’", "'")
        if low in scales and tokens and tokens[-1].number and " " not in tokens[-1].norm:
            # "4 billion" is one number: "four rocket systems" does not carry "$4 billion"
            last = tokens[-1]
            tokens[-1] = Token(
                last.text,
                f"{last.norm} {scales[low]}",
                f"{last.stem} {scales[low]}",
                True,
                False,
                True,
                False,
            )
            ends[-1] = match.end()
            continue
        number = raw[0].isdigit() or low in _NUMBER_WORDS
        if number:
            norm = _NUMBER_WORDS.get(low) or low.replace(",", "")
            norm = norm.rstrip(".")
            if text[match.end() : match.end() + 1] == "%":
                norm += " percent"
        else:
            norm = low.removesuffix("'s")
        negation = low in negations
        content = number or (norm not in stop and len(norm) > 1 and not negation)
        name = not number and raw[0].isupper() and content and (i > 0 or len(raw) > 1)
        base = irregular.get(norm) or demonyms.get(norm, norm)
        stem = norm if number else _stemmer().stemWord(base)
        tokens.append(Token(raw, norm, stem, content, name, number, negation))
        ends.append(match.end())
    return _country_names(tokens, ends, text)


def _country_names(tokens: list[Token], ends: list[int], text: str) -> list[Token]:
    """A country's names read as one (country_names.txt): "United Kingdom" (two words, one
    token), "UK", "U.S." and "British" all stand for the same country."""
    countries = word_map("country_names", forward=False)
    merged: list[Token] = []
    i = 0
    while i < len(tokens):
        for size in (3, 2, 1):
            words = tokens[i : i + size]
            key = "_".join(t.norm for t in words)
            if len(words) < size or key not in countries:
                continue
            gaps = [text[ends[j] : ends[j] + 1] for j in range(i, i + size - 1)]
            if all(g in " ." for g in gaps):
                if key == "us" and words[0].text != "US":
                    continue  # "let us" names no country
                written = text[ends[i] - len(words[0].text) : ends[i + size - 1]]
                base = countries[key]  # its norm too: "US" is not the quote's pronoun "us"
                merged.append(
                    Token(written, base, _stemmer().stemWord(base), True, True, False, False)
                )
                i += size
                break
        else:
            merged.append(tokens[i])
            i += 1
    return merged


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
