"""Words as the claim check reads them: numbers normalised ("12,000" = "12000", "three" = "3",
"$4 billion" one number), stems with irregular verbs folded, names and negations marked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import Stemmer

NEGATIONS = frozenset(
    "not no never without none neither nor nobody nothing deny denies denied".split()
)
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
_NUMBER_WORDS = {  # not "one": "one of the largest" counts nothing
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
    if i >= 2
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
# "a French stadium" is one in France: the demonyms whose country the prefix rule of `_same`
# misses ("Russian"/"Russia" it finds)
_DEMONYMS = {
    "english": "england", "british": "britain", "scottish": "scotland", "welsh": "wales",
    "irish": "ireland", "french": "france", "spanish": "spain", "portuguese": "portugal",
    "dutch": "netherlands", "belgian": "belgium", "swiss": "switzerland", "danish": "denmark",
    "swedish": "sweden", "finnish": "finland", "norwegian": "norway", "polish": "poland",
    "greek": "greece", "turkish": "turkey", "chinese": "china", "thai": "thailand",
    "filipino": "philippines", "iranian": "iran", "iraqi": "iraq", "mexican": "mexico",
    "canadian": "canada", "peruvian": "peru", "cuban": "cuba",
}  # fmt: skip
_SCALES = {
    "thousand": "thousand", "million": "million", "millions": "million", "billion": "billion",
    "billions": "billion", "trillion": "trillion", "bn": "billion", "percent": "percent",
    "per": "", "pc": "percent",
}  # fmt: skip
_SCALES = {k: v for k, v in _SCALES.items() if v}
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


def tokenize(text: str) -> list[Token]:
    text = re.sub(r"n['’]t\b", " not", text).replace("cannot", "can not")
    tokens: list[Token] = []
    for i, match in enumerate(_WORD.finditer(text)):
        raw = match.group(0)
        low = raw.lower().replace("’", "'")
        if low in _SCALES and tokens and tokens[-1].number and " " not in tokens[-1].norm:
            # "4 billion" is one number: "four rocket systems" does not carry "$4 billion"
            last = tokens[-1]
            tokens[-1] = Token(
                last.text,
                f"{last.norm} {_SCALES[low]}",
                f"{last.stem} {_SCALES[low]}",
                True,
                False,
                True,
                False,
            )
            continue
        number = raw[0].isdigit() or low in _NUMBER_WORDS
        if number:
            norm = _NUMBER_WORDS.get(low) or low.replace(",", "")
            norm = norm.rstrip(".")
            if text[match.end() : match.end() + 1] == "%":
                norm += " percent"
        else:
            norm = low.removesuffix("'s")
        negation = low in NEGATIONS
        content = number or (norm not in STOPWORDS and len(norm) > 1 and not negation)
        name = not number and raw[0].isupper() and content and (i > 0 or len(raw) > 1)
        base = _IRREGULAR.get(norm) or _DEMONYMS.get(norm, norm)
        stem = norm if number else _stemmer().stemWord(base)
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
