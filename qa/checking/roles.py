"""Who did what to whom: the names of a claim against the names of its quote. A claim that
copies a quote's words but puts its names in each other's places ("Russia sent weapons to
North Korea" from "North Korea sent weapons to Russia") has the words of the quote and the
meaning of another sentence."""

from __future__ import annotations

import re

from qa.checking.tokens import Evidence, Token, tokenize
from qa.checking.words import word_set

Mention = tuple[frozenset[str], int, str | None]  # name stems, position, role word before it


def names(tokens: list[Token]) -> set[str]:
    return {t.stem for t in tokens if t.name}


def mentions(tokens: list[Token]) -> list[Mention]:
    """Each run of capitalised words, with the role word (to/from/by/against) just before it."""
    roles, attribution = word_set("role_words"), word_set("attribution")
    found: list[Mention] = []
    for i, j in _runs(tokens):
        role = None
        for k in (i - 1, i - 2):  # the nearest role word among the two words before the name
            if k >= 0 and tokens[k].norm in roles:
                # "according to NBC" says who reported it: an attribution, not a role to swap
                if not (k > 0 and tokens[k - 1].norm in attribution):
                    role = tokens[k].norm
                break
        found.append((frozenset(t.stem for t in tokens[i : j + 1]), i, role))
    return found


def _runs(tokens: list[Token]) -> list[tuple[int, int]]:
    """(first, last) index of each run of capitalised words."""
    runs = []
    i = 0
    while i < len(tokens):
        if not tokens[i].name:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1].name:
            j += 1
        runs.append((i, j))
        i = j + 1
    return runs


def name_spans(text: str) -> list[str]:
    """The names of `text` as written ("Sri Lanka", "Bed Bath & Beyond"), in order, once each."""
    tokens = tokenize(text)
    found: list[str] = []
    for i, j in _runs(tokens):
        pattern = r"\W+".join(re.escape(t.text) for t in tokens[i : j + 1])
        match = re.search(pattern, text)
        if not match:
            continue
        name = match.group(0)
        if name.count("(") > name.count(")") and text[match.end() : match.end() + 1] == ")":
            name += ")"  # "Bed Bath & Beyond (BBBY)"
        if name not in found:
            found.append(name)
    return found


def role_words_swapped(claim: list[Token], quote: list[Token]) -> bool:
    """Two names of the claim that the quote also has, in swapped roles: the role word before
    one (to/from/by/against) stands before the other in the quote, or, with no role words,
    their order around a shared word is reversed ("A defeated B" / "B defeated A")."""
    claim_names = mentions(claim)
    quote_names = mentions(quote)
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
    plain = [m for m in shared if m[2] is None]
    for a, b in zip(plain, plain[1:], strict=False):
        if a[0] & b[0]:
            continue
        a_at = [p for _, p, _ in in_quote(a[0])]
        b_at = [p for _, p, _ in in_quote(b[0])]
        if max(b_at) >= min(a_at):  # the quote has them in the claim's order somewhere
            continue
        span_claim, span_quote = claim[a[1] + 1 : b[1]], quote[max(b_at) + 1 : min(a_at)]
        if any(t.norm in ("by", "and", "or") for t in span_claim + span_quote):
            continue  # passive ("B was hit by A") or a list ("A and B"): order is free
        between_claim = {t.stem for t in span_claim if t.content and not t.name}
        between_quote = {t.stem for t in span_quote if t.content and not t.name}
        if between_claim and between_quote:  # each says something links them, reversed
            return True
    return False


Context = dict[frozenset[str], set[tuple[str, str]]]  # name stems -> words beside it


def _contexts(tokens: list[Token], reach: int = 2) -> Context:
    """The words on each side of each name: ("<", "at") and (">", "residency") for "at X
    residency"."""
    found: Context = {}
    for i, j in _runs(tokens):
        stems = frozenset(t.stem for t in tokens[i : j + 1])
        beside = {("<", t.stem) for t in tokens[max(0, i - reach) : i]}
        beside |= {(">", t.stem) for t in tokens[j + 1 : j + 1 + reach]}
        found.setdefault(stems, set()).update(beside)
    return found


def contexts_swapped(claim: list[Token], quote: list[Token], margin: int = 2) -> bool:
    """Two names of the claim, each standing where the quote has the other: their words beside
    them match the quote's when swapped, clearly better than as written ("Las Vegas will launch
    an Adele residency" / "Adele will launch a Las Vegas residency")."""
    in_claim, in_quote = _contexts(claim), _contexts(quote)

    def beside(stems: frozenset[str]) -> set[tuple[str, str]]:
        return set().union(*(c for s, c in in_quote.items() if s & stems))

    shared = [(s, c, beside(s)) for s, c in in_claim.items() if beside(s)]
    positions = {m[0]: m[1] for m in mentions(claim)}
    for x, (a, a_claim, a_quote) in enumerate(shared):
        for b, b_claim, b_quote in shared[x + 1 :]:
            if a & b or _coordinated(claim, positions.get(a), positions.get(b)):
                continue
            kept = len(a_claim & a_quote) + len(b_claim & b_quote)
            crossed = len(a_claim & b_quote) + len(b_claim & a_quote)
            if crossed >= kept + margin:
                return True
    return False


def _coordinated(tokens: list[Token], a: int | None, b: int | None) -> bool:
    """Only "and"/"or" stand between the two names: a list, whose order says nothing."""
    if a is None or b is None:
        return False
    lo, hi = sorted((a, b))
    between = [t.norm for t in tokens[lo + 1 : hi] if not t.name]
    return bool(between) and all(w in word_set("coordination") or not w.isalpha() for w in between)


def borrowed_name(
    claim: list[Token], first: list[Token], second: list[Token], premise: Evidence | None
) -> Token | None:
    """In a quote of two sentences, a name or number of the claim that only one sentence has,
    while the other sentence says the rest of the claim of a name or number of its own: "Ted
    Lasso received the most nominations" from "Succession earned the most nominations... Ted
    Lasso led the comedy category"; "69% feel Trump acted unethically" from "...acted
    unethically (79% feel...)... 69% consider the attack a crisis". (Said of "it" or "the
    show", the rest may come from the other sentence.)"""
    for own, other in ((first, second), (second, first)):
        own_ev, other_ev = Evidence(own), Evidence(other)
        for t in claim:
            fact = t.name or t.number
            if not fact or (premise and premise.has(t)) or not own_ev.has(t) or other_ev.has(t):
                continue
            rest = [u for u in claim if u.content and not u.name and not u.number]
            if sum(other_ev.has(u) for u in rest) <= sum(own_ev.has(u) for u in rest):
                continue
            claim_ev = Evidence(claim)
            asked = premise or Evidence([])
            if t.number:  # a figure of the same kind: another share, another sum of euros
                kind = _unit(claim, claim.index(t))
                rivals = [u for i, u in enumerate(other) if u.number and _unit(other, i) == kind]
            else:
                rivals = [u for u in other if u.name]
            if any(not claim_ev.has(u) and not asked.has(u) for u in rivals):
                return t
    return None


def _unit(tokens: list[Token], i: int) -> str:
    """What the number at `i` counts: "percent", or the stem of the word after it ("euros")."""
    if tokens[i].norm.endswith(" percent"):
        return "percent"
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    return after.stem if after and after.content and not after.number else ""
