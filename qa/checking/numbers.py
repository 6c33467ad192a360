"""A claim's numbers against its quote's: a number the quote has may still be said of something
else. "1 months" is not carried by "six months" and a "1" elsewhere; "bacon ... 38%" not by
"eggs soared 38% ... bacon 9.2%"; "raise the wage to $15" not by "to $22, above the $15"."""

from __future__ import annotations

from qa.checking.tokens import Token

_NUMBER_ROLES = frozenset("to from by".split())  # "rose from 5% to 7%", "cut by 2%"


def unbound_numbers(claim: list[Token], quote: list[Token], reach: int = 4) -> list[Token]:
    """Numbers of the claim that the quote never has beside the word they go with, although it
    has that word: "1 months" is not carried by "six months" and a "1" elsewhere (or in the
    title), nor "July 12" by "July 19" and a "12" elsewhere."""
    unbound = []
    quote_stems = {t.stem for t in quote if t.content}
    for i, t in enumerate(claim):
        if not t.number:
            continue
        beside = [u for u in (claim[i - 1] if i else None, *claim[i + 1 : i + 2]) if u]
        units = [u for u in beside if u.content and not u.number and u.stem in quote_stems]
        if not units:
            continue
        at = [j for j, q in enumerate(quote) if q.number and q.norm == t.norm]
        near = {q.stem for j in at for q in quote[max(0, j - reach) : j + 1 + reach]}
        if not any(u.stem in near for u in units):
            unbound.append(t)
    return unbound


def numbers_of_others(claim: list[Token], quote: list[Token]) -> list[Token]:
    """Numbers of the claim that the quote lists beside another item, while it lists the claim's
    item with a number of its own: "bacon showed a 38% increase" is not carried by "eggs soared
    38% ... and bacon 9.2%"."""
    listed: dict[str, set[str]] = {}  # "bacon 9.2": the word just before a number
    for word, number in zip(quote, quote[1:], strict=False):
        if word.content and not word.number and number.number:
            listed.setdefault(word.stem, set()).add(number.norm)
    claim_stems = {t.stem for t in claim}
    claim_numbers = {t.norm for t in claim if t.number}
    wrong = []
    for t in claim:
        if not t.number:
            continue
        of = [w for w, numbers in listed.items() if t.norm in numbers]
        if not of or any(w in claim_stems for w in of):
            continue  # the quote gives it to nothing, or to a word the claim has
        mine = [w for w in claim_stems if w in listed and not listed[w] & claim_numbers]
        if mine:  # the claim's own item has another number in the quote
            wrong.append(t)
    return wrong


def _role(tokens: list[Token], i: int) -> str | None:
    """The role word ("to", "from", "by") among the two words before tokens[i], the nearest."""
    before = [t.norm for t in tokens[max(0, i - 2) : i]]
    return next((w for w in reversed(before) if w in _NUMBER_ROLES), None)


def numbers_in_other_roles(claim: list[Token], quote: list[Token]) -> list[Token]:
    """Numbers the claim gives a role word ("to $15") that the quote gives to another number of
    its own ("to up to $22 an hour - well above the $15")."""
    claim_numbers = {t.norm for t in claim if t.number}
    wrong = []
    for i, t in enumerate(claim):
        role = _role(claim, i) if t.number else None
        if role is None:
            continue
        roles_here = {_role(quote, j) for j, q in enumerate(quote) if q.number and q.norm == t.norm}
        if not roles_here or role in roles_here:
            continue
        others = [
            q for j, q in enumerate(quote)
            if q.number and q.norm not in claim_numbers and _role(quote, j) == role
        ]  # fmt: skip
        if others:
            wrong.append(t)
    return wrong
