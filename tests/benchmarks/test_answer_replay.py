"""How the model's recorded news-dev answers are labelled (benchmarks/answer_replay.py)."""

from typing import Any

from benchmarks.answer_replay import HAND_RIGHT, HAND_WRONG, label
from qa.eval.answers import EvalQuestion

QUESTION = EvalQuestion(
    id="q",
    question="Which country saw its prime minister resign this week?",
    answer="United Kingdom",
    choices=["New Zealand", "Finland", "Canada", "United Kingdom"],
)


def _row(raw: str, qid: str = "q") -> dict[str, Any]:
    return {"id": qid, "raw": raw}


def test_an_answer_is_labelled_by_the_choice_it_names() -> None:
    assert label(_row("The United Kingdom did."), QUESTION, False) == (
        "right answer",
        True,
        "choice",
    )
    assert label(_row("Canada did."), QUESTION, False)[:2] == ("wrong answer", False)


def test_without_its_gold_articles_a_right_answer_is_still_right() -> None:
    """The unanswerable set's test is a string test: another article may hold the answer."""
    assert label(_row("The United Kingdom did."), QUESTION, True) == (
        "right answer",
        True,
        "choice (gold articles left out)",
    )
    assert label(_row("Canada did."), QUESTION, True)[:2] == ("unanswerable", False)


def test_readings_by_hand_override_the_scorer_and_say_why() -> None:
    right, wrong = next(iter(HAND_RIGHT)), next(iter(HAND_WRONG))
    kind, supported, read = label(_row("Something the scorer cannot read.", right), QUESTION, False)
    assert (kind, supported) == ("right answer", True) and read == f"by hand: {HAND_RIGHT[right]}"
    # ...but not for an answer given without the gold articles: it is another answer
    assert label(_row("Something else.", right), QUESTION, True)[0] == "unanswerable"
    assert label(_row("The United Kingdom did.", wrong), QUESTION, False)[:2] == (
        "wrong answer",
        False,
    )
    assert all(HAND_RIGHT.values()) and all(HAND_WRONG.values())
