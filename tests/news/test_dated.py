"""Which questions ask for the newest reports (the word list in qa/news/data/), and the stale
horizon sentence."""

from __future__ import annotations

from datetime import date

import pytest

from qa.news.dated import asks_for_latest, staleness


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on the North Korean troops?",
        "How many troops are in Russia now?",
        "Who is the current mayor of Brennick?",
        "What happened in the markets THIS WEEK?",
        "How many people have died so far?",
    ],
)
def test_latest_questions_are_recognised(question: str) -> None:
    assert asks_for_latest(question)


@pytest.mark.parametrize(
    "question",
    [
        "What weapons were reportedly supplied to Russia?",
        "Which week in 2022 did the bridge nowhere near the river open?",  # whole words only
        "Who currency-pegged the won?",
    ],
)
def test_other_questions_are_not(question: str) -> None:
    assert not asks_for_latest(question)


def test_the_stale_sentence_appears_only_past_the_horizon() -> None:
    today = date(2024, 11, 4)
    assert staleness(date(2024, 10, 5), today, 30) is None  # 30 days: within
    assert staleness(date(2024, 10, 1), today, 30) == (
        "The newest report found is from 2024-10-01, 34 days before 2024-11-04."
    )
    assert staleness(None, today, 30) == "None of the reports found is dated."
