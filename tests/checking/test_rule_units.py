"""The rules as units (qa/checking/rules.py `RULES`): each detects its case, and is the one that
does (left out, the sentence passes or fails for another reason); the declared order is the
order applied; `disabled` leaves rules out. The fuller cases of each rule are in
test_rules.py / test_answer.py (named beside each case below)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.checking import rules
from qa.checking.answer import check_answer, parse_answer, rules_check
from qa.checking.rules import RULE_NAMES, RULES, Reading, Rule, judge
from qa.checking.tokens import Evidence, tokenize
from qa.domain import Passage
from tests.utils.passages import make_passage

TITLE = "North Korea preparing to send more troops and weapons to Russia, Seoul says"
TEXT = (
    "The JCS has detected the North supplying more 240mm multiple rocket launchers and 170mm "
    "self-propelled howitzers to Russia. It also says that North Korean soldiers have crossed into "
    "South Korea, although it does not believe they were trying to provoke a clash. NBC News reported earlier this week that some 12,000 North Korean troops have "
    "been sent to Russia. President Yoon Suk Yeol has warned that his country won't sit idle."
)
BAN = "The ban on the club lasts six months, the league said on Friday. In all, 1 player appealed."
GROCERY = (
    "The cost of eggs has soared 38%, and prices for other goods have also jumped: flour is "
    "up 22.7%, chicken 17.6%, milk 15.6% and bacon 9.2%."
)
WAGE = (
    "The council could raise the minimum wage for fast food workers to up to $22 an hour, "
    "well above the $15 an hour in the state."
)
PARK = (
    "Dinosaur tracks from around 113 million years ago have been revealed at Dinosaur Valley "
    "State Park in Texas due to severe drought conditions that dried up a river, the park said."
)
EMMY = (
    "Succession earned the most nominations of any show, a total of 25 nods. "
    "Ted Lasso led the comedy category, earning 20 nominations."
)
BEER = "Heineken will stop producing and selling beer in Russia, the brewer said on Monday."


def passage(
    text: str = TEXT, title: str = TITLE, published: str | None = "2024-11-04", n: int = 1
) -> Passage:
    return make_passage(text, title, published, n)


Case = tuple[str, list[Passage], str | None, str]  # answer, passages, question, reason
MCGRIDDLES = [
    passage(
        "McDonald's will add McGriddles to its breakfast menu this fall.", "Menu", "2016-07-06"
    ),
    passage("Wendy's is adding a sweet treat for breakfast.", "Wendy's treat", "2022-08-09", 2),
]
CASES: dict[str, Case] = {
    # test_rules.py: test_wrong_claims_are_caught_with_a_reason (13,000);
    # test_answer.py: test_wrong_number_is_not_supported
    "number.missing": (
        "Some 13,000 North Korean troops have been sent to Russia [1].", [passage()], None,
        "number 13,000 not in quote",
    ),
    # numbers.py unbound_numbers: "1 months" against "six months" and a "1" elsewhere
    "number.unbound": (
        "The ban on the club lasts 1 months [1].", [passage(BAN, "Ban")], None,
        "number 1 not in quote",
    ),
    # test_rules.py: test_a_number_the_quote_lists_beside_another_item_is_not_the_claims
    "number.other_item": (
        "Bacon showed the largest price spike, a 38% increase [1].",
        [passage(GROCERY, "Grocery prices")], None, "number 38 not in quote",
    ),
    # test_rules.py: test_a_number_keeps_its_role_word
    "number.other_role": (
        "The law could raise the minimum wage to $15 an hour [1].",
        [passage(WAGE, "New California law could raise fast-food wages")], None,
        "number 15 not in quote",
    ),
    # test_rules.py: test_wrong_claims_are_caught_with_a_reason (Chinese),
    # test_a_fact_from_another_sentence_does_not_rescue_a_claim
    "name": (
        "Some 12,000 Chinese troops have been sent to Russia [1].", [passage()], None,
        "name Chinese not in quote",
    ),
    # test_answer.py: test_unrelated_answer_is_not_grounded
    "coverage": (
        "North Korea shipped bananas and apples and pears to Russia [1].", [passage()], None,
        "no quote carries it",
    ),
    # a negation the quote does not have, after words it does not say either
    "negated.claim": (
        "Heineken will stop producing and selling beer in Russia, never again [1].",
        [passage(BEER, "Heineken")], None, "negated",
    ),
    # test_rules.py: test_wrong_claims_are_caught_with_a_reason (negated)
    "negated.words": (
        "North Korean soldiers have not crossed into South Korea [1].", [passage()], None,
        "negated",
    ),
    # test_rules.py: test_sample_question_from_the_issue_is_refused
    "roles.words": (
        "Russia sent 12,000 troops to North Korea [1].", [passage()], None,
        "roles differ from quote",
    ),
    # test_rules.py: test_names_standing_in_each_others_places_are_caught
    "roles.context": (
        "Texas tracks have been revealed at Texas Valley State Park in Dinosaur due to drought [1].",
        [passage(PARK, "Drought reveals tracks")], None, "roles differ from quote",
    ),
    # test_rules.py: test_a_name_from_the_next_sentence_does_not_take_over_what_another_name_did
    "borrowed": (
        "Ted Lasso received the most nominations of any show, a total of 25 nods [1].",
        [passage(EMMY, "Emmy nominations")], None, "name Ted is from another sentence",
    ),
    # test_rules.py: test_an_article_years_older_does_not_answer_a_question_about_recent_news
    "stale": (
        "McDonald's added McGriddles to its menu this fall [1].", MCGRIDDLES,
        "Which new treat did McDonald's add to its menu?",
        "recent news asked; its article (2016-07-06) is 2225 days older",
    ),
    # a true sentence of a passage about something else
    "off_question": (
        "Heineken will stop producing and selling beer in Russia [1].",
        [passage(BEER, "Heineken to leave Russia", "2023-08-01")],
        "Which company stopped streaming cartoons on television?",
        "does not answer the question",
    ),
    # test_rules.py: test_a_passage_naming_none_of_the_questions_names_does_not_answer_it
    "off_question.names": (
        "Heineken will stop producing and selling beer in Russia [1].",
        [passage(BEER, "Heineken to leave Russia", "2023-08-01")],
        "Disney this week stopped selling what in Australia?", "does not answer the question",
    ),
}  # fmt: skip


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULE_NAMES)


@pytest.mark.parametrize("name", RULE_NAMES)
def test_each_rule_catches_its_case_and_is_the_one_that_does(name: str) -> None:
    answer, passages, question, reason = CASES[name]
    caught = check_answer(answer, passages, question).sentences[0]
    assert (caught.supported, caught.reason) == (False, reason)
    # the word rules alone: the support score reads negations and numbers again (test_support)
    [parsed] = parse_answer(answer)
    without = rules_check(parsed, passages, question, disabled=frozenset({name}))
    assert without.supported or without.reason != reason


def test_each_rule_says_what_it_detects() -> None:
    assert len(set(RULE_NAMES)) == len(RULES)
    for rule in RULES:
        assert rule.detects and rule.reason, rule.name
        assert rule.stage in ("quote", "pair", "answer")
    families = {r.family for r in RULES if r.stage in ("quote", "pair")}
    assert families == {"number", "name", "coverage", "negated", "roles", "borrowed"}


def test_a_claim_failing_two_rules_reports_the_first_declared() -> None:
    claim = "Some 13,000 Chinese troops have been sent to Russia [1]."
    both = check_answer(claim, [passage()]).sentences[0]
    assert both.reason == "number 13,000 not in quote"
    names = check_answer(claim, [passage()], disabled=frozenset({"number.missing"}))
    assert names.sentences[0].reason == "name Chinese not in quote"


def test_judge_applies_the_quote_rules_in_the_declared_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[str] = []

    def unit(name: str, fires: bool) -> Rule[Reading]:
        def check(reading: Reading) -> tuple[object, ...] | None:
            """Records that it ran."""
            called.append(name)
            return () if fires else None

        return Rule(name, "quote", f"{name} failed", check)

    declared = (unit("c", False), unit("a", False), unit("b", True), unit("d", True))
    monkeypatch.setattr(rules, "RULES", declared)
    tokens = tokenize("Some troops were sent.")
    verdict = judge(tokens, Evidence(tokenize("Some troops were sent.")))
    assert verdict.reason == "b failed" and called == ["c", "a", "b"]
    called.clear()
    verdict = judge(tokens, Evidence(tokens), disabled=frozenset({"b"}))
    assert verdict.reason == "d failed" and called == ["c", "a", "d"]


def test_disabled_leaves_rules_out_and_only_known_rules() -> None:
    answer = "Russia sent 12,000 troops to North Korea [1]."
    assert not check_answer(answer, [passage()]).grounded
    assert check_answer(answer, [passage()], disabled=frozenset({"roles.words"})).grounded
    off = frozenset(RULE_NAMES)
    assert check_answer("France sent jets to Ukraine [1].", [passage()], disabled=off).grounded
    with pytest.raises(ValueError, match="no such rule: roles"):
        check_answer(answer, [passage()], disabled=frozenset({"roles"}))


def test_the_readmes_rules_table_names_every_rule_and_no_other() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| rule (`RULES` name) |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]
    listed = [name for row in rows for name in re.findall(r"`([a-z_.]+)`", row)]
    assert listed == list(RULE_NAMES)
