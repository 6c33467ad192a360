"""The check's word lists, kept as data files in qa/checking/data/ (one entry per line, `#`
comments), read on first use: a list is edited without touching the code that reads it."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


def _lines(name: str) -> list[list[str]]:
    text = (files("qa.checking") / "data" / f"{name}.txt").read_text(encoding="utf-8")
    rows = (line.split("#", 1)[0].split() for line in text.splitlines())
    return [row for row in rows if row]


@cache
def word_set(name: str) -> frozenset[str]:
    """Every word of the file `name`.txt."""
    return frozenset(word for row in _lines(name) for word in row)


@cache
def word_map(name: str, forward: bool = True) -> dict[str, str]:
    """Lines "key value": key -> value; `forward=False` for lines "base form1 form2 ...", read
    as form -> base."""
    rows = _lines(name)
    if forward:
        return {row[0]: row[1] for row in rows}
    return {form: row[0] for row in rows for form in row[1:]}
