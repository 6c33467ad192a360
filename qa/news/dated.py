"""Dated answers: which questions ask for the newest reports ("What is the latest ...", "How many
... now?"), and the words the pipeline adds to such an answer: "As of 2024-11-04, " before it and,
when the newest report found is older than the horizon, how old its information is."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date
from importlib.resources import files

RECENCY_WORDS = "recency_words.txt"  # in qa/news/data/, one word or phrase a line


@functools.cache
def _recency() -> re.Pattern[str]:
    text = files("qa.news").joinpath("data", RECENCY_WORDS).read_text("utf-8")
    words = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    phrases = sorted(words, key=len, reverse=True)  # "right now" before "now"
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in phrases) + r")\b", re.I)


def asks_for_latest(question: str) -> bool:
    return bool(_recency().search(question))


def day_of(published: str | None) -> date | None:
    if not published:
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


def newest(published: Iterable[str | None]) -> date | None:
    return max((d for p in published if (d := day_of(p)) is not None), default=None)


def as_of_prefix(answer: str, day: date) -> str:
    """ "As of 2024-11-04, " before the answer (its first letter kept: it may be a name)."""
    return f"As of {day.isoformat()}, {answer}"


def staleness(newest_report: date | None, reference: date, horizon_days: int) -> str | None:
    """The sentence saying how old the newest report is, when it is past the horizon."""
    if newest_report is None:
        return "None of the reports found is dated."
    gap = (reference - newest_report).days
    if gap <= horizon_days:
        return None
    return (
        f"The newest report found is from {newest_report.isoformat()}, "
        f"{gap} days before {reference.isoformat()}."
    )
