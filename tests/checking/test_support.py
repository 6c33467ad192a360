"""The support score (qa/checking/support.py) on the sample article's own sentences: a fluent
rewording of a quote is kept, a fact changed in it is not - and the reader is told whether the
article says otherwise (contradicted) or just does not say it (weak)."""

from __future__ import annotations

import pytest

from qa.checking.answer import CheckedSentence, check_answer
from qa.checking.support import denies, model, support_score
from qa.checking.tokens import tokenize
from qa.settings import DEFAULT_SUPPORT_THRESHOLD
from tests.utils.passages import sample_passages

THRESHOLD = DEFAULT_SUPPORT_THRESHOLD
WEAPONS = "240mm"  # the passage of the JCS's weapons sentence
TROOPS = "12,000"  # the passage of NBC's troops sentence


def checked(claim: str, holding: str, threshold: float = THRESHOLD) -> tuple[str, dict]:
    """`claim` cited to the passage holding `holding`, checked: its text and sentence."""
    doc, found = sample_passages()
    text = doc.text
    n = next(p.n for p in found if holding in p.text)
    [sentence] = check_answer(f"{claim} [{n}].", found, threshold=threshold).sentences
    return text, sentence.model_dump()


# rewordings of the article's sentences: none of them is in the article as written
PARAPHRASES = {
    "weapons": (
        "North Korea has been shipping 240mm multiple rocket launchers and 170mm "
        "self-propelled howitzers to Russia",
        WEAPONS,
    ),
    "treaty": (
        "North Korean troops were sent to Russia under a defence treaty signed this year",
        TROOPS,
    ),
}


@pytest.mark.parametrize("name", sorted(PARAPHRASES))
def test_a_fluent_paraphrase_of_its_quote_is_supported(name: str) -> None:
    claim, holding = PARAPHRASES[name]
    text, sentence = checked(claim, holding)
    assert claim not in text  # reworded, not copied
    assert sentence["supported"] and sentence["verdict"] == "supported", sentence
    assert THRESHOLD <= sentence["score"] < 1  # scored by the model, not a verbatim quote
    assert sentence["reason"] is None and sentence["citations"]


# each: the article's fact with one thing changed, the verdict, the reason's start
WRONG = {
    "swapped roles": (
        "Russia supplied 240mm multiple rocket launchers and 170mm self-propelled howitzers "
        "to North Korea",
        WEAPONS,
        "contradicted",
        "roles differ",
    ),
    "changed number": (
        "Some 15,000 North Korean troops have been sent to Russia",
        TROOPS,
        "contradicted",
        "number 15,000",
    ),
    "wrong name": (
        "China supplied 240mm multiple rocket launchers and 170mm self-propelled howitzers "
        "to Russia",
        WEAPONS,
        "weak",
        "name China",
    ),
    "inserted negation": (
        "North Korea did not supply 240mm multiple rocket launchers to Russia",
        WEAPONS,
        "contradicted",
        "negated",
    ),
    # the quote found for it has a negation of its own ("it does not believe they were
    # trying to provoke a clash"), about something else: the title says the troops are sent
    "negation against a quote with another negation": (
        "North Korea did not send troops to Russia",
        TROOPS,
        "contradicted",
        "negated",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_changed_fact_scores_under_the_threshold(name: str) -> None:
    claim, holding, verdict, reason = WRONG[name]
    _, sentence = checked(claim, holding)
    assert not sentence["supported"], sentence
    assert sentence["score"] < THRESHOLD
    assert sentence["verdict"] == verdict
    assert sentence["reason"].startswith(reason)


def test_a_changed_fact_scores_under_its_true_version() -> None:
    _, true = checked(*PARAPHRASES["weapons"])
    for name in ("swapped roles", "wrong name", "inserted negation"):
        _, wrong = checked(*WRONG[name][:2])
        assert wrong["score"] < true["score"], name


def test_the_answer_scores_as_its_weakest_sentence() -> None:
    _, found = sample_passages()
    n = next(p.n for p in found if WEAPONS in p.text)
    t = next(p.n for p in found if TROOPS in p.text)
    true = f"{PARAPHRASES['weapons'][0]} [{n}]. {PARAPHRASES['treaty'][0]} [{t}]."
    whole = check_answer(true, found)
    scores = [s.score for s in whole.sentences]
    assert whole.grounded and whole.support_score == min(scores) and len(set(scores)) == 2
    with_wrong = check_answer(f"{true} {WRONG['changed number'][0]} [{t}].", found)
    assert with_wrong.grounded  # the true sentences still stand...
    assert with_wrong.support_score == 0.0  # ...but the answer is only as good as its worst


def test_a_higher_threshold_turns_a_paraphrase_weak() -> None:
    claim, holding = PARAPHRASES["treaty"]
    _, kept = checked(claim, holding)
    _, refused = checked(claim, holding, threshold=min(1.0, kept["score"] + 0.05))
    assert refused["score"] == kept["score"]  # the score is the sentence's, the bar is not
    assert not refused["supported"] and refused["verdict"] == "weak"
    assert refused["reason"] == "its quote covers too little of it"


def test_a_later_refusal_scores_under_the_threshold() -> None:
    # a sentence the judge refuses after the model scored it high
    judged = CheckedSentence("A claim.", [], False, "a second reading...", score=0.9)
    assert judged.score is not None and judged.score < THRESHOLD and judged.verdict == "weak"
    assert CheckedSentence("A quote.", [1], True, None).score == 1.0  # quoted verbatim
    assert support_score([None, 0.7, 0.45]) == 0.45 and support_score([None]) is None


def test_denial_reads_the_words_under_each_negation() -> None:
    title = tokenize("North Korea sends more troops to Russia")
    other = tokenize("Officials do not believe the move was meant to provoke a clash.")
    claim = tokenize("North Korea did not send troops to Russia.")
    assert denies(claim, other, title)
    # the quote denies it too: agreeing negations are no contradiction
    agree = tokenize("Officials said North Korea has not sent troops to Russia.")
    assert not denies(claim, agree, title)
    assert not denies(tokenize("North Korea sent troops to Russia."), other, title)
    # a negated claim about what neither the quote nor the title speaks of is not a denial
    assert not denies(tokenize("The talks did not resume."), other, title)


def test_the_default_threshold_is_the_one_the_fit_chose() -> None:
    assert model().threshold == DEFAULT_SUPPORT_THRESHOLD
