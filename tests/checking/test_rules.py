"""The claim check reads one quote, with its numbers, names, polarity and roles (qa/verify.py)."""

from importlib.resources import files

import pytest

from qa.checking.answer import check_answer
from qa.checking.rules import best_quote
from qa.checking.tokens import tokenize
from qa.checking.words import word_map, word_set
from qa.domain import Passage
from tests.utils.passages import make_passage

TITLE = "North Korea preparing to send more troops and weapons to Russia, Seoul says"
TEXT = (
    "The JCS has detected the North supplying more 240mm multiple rocket launchers and 170mm "
    "self-propelled howitzers to Russia, as well as preparing to produce more suicide drones to be "
    "shipped there. It also says that North Korean soldiers have crossed into South Korea, although "
    "it does not believe they were trying to provoke a clash deliberately. NBC News reported earlier "
    "this week that some 12,000 North Korean troops have been sent to Russia, reportedly under a "
    "defense treaty signed between the two nations this year. President Yoon Suk Yeol has warned "
    "that his country won't sit idle over the development."
)


def verdict(claim: str, text: str = TEXT, title: str = TITLE) -> tuple[bool, str | None]:
    quote = best_quote(claim, text, title, "2024-11-04")
    return quote.verdict.supported, quote.verdict.reason


@pytest.mark.parametrize(
    "claim",
    [
        "North Korea supplied 240mm multiple rocket launchers and 170mm self-propelled howitzers to Russia.",
        "Some 12,000 North Korean troops have been sent to Russia this week.",
        "Russia received 170mm self-propelled howitzers from North Korea.",  # roles kept, reworded
        "North Korea is preparing to send more troops to Russia.",  # carried by the title
        "President Yoon Suk Yeol warned that his country would not sit idle.",
        "On November 4, 2024, Seoul said North Korea was preparing to send weapons to Russia.",
    ],
)
def test_claims_the_quote_carries_are_supported(claim: str) -> None:
    assert verdict(claim) == (True, None)


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Yes, Russia sent weapons to North Korea.", "roles differ from quote"),
        (
            "Russia supplied 240mm multiple rocket launchers to North Korea.",
            "roles differ from quote",
        ),
        ("North Korea did not supply 240mm multiple rocket launchers to Russia.", "negated"),
        ("North Korean soldiers have not crossed into South Korea.", "negated"),
        ("Some 13,000 North Korean troops have been sent to Russia.", "number 13,000 not in quote"),
        ("Some 12,000 Chinese troops have been sent to Russia.", "name Chinese not in quote"),
        ("France sent fighter jets and tanks to Ukraine.", None),
    ],
)
def test_wrong_claims_are_caught_with_a_reason(claim: str, reason: str | None) -> None:
    supported, why = verdict(claim)
    assert not supported
    if reason:
        assert why == reason


def test_a_fact_from_another_sentence_does_not_rescue_a_claim() -> None:
    # NBC News is in the passage, but not in the sentence about the howitzers
    supported, why = verdict("NBC News supplied 170mm self-propelled howitzers to Russia.")
    assert not supported and why == "name NBC not in quote"


def test_quote_is_the_sentence_that_carries_the_claim() -> None:
    quote = best_quote("Some 12,000 North Korean troops were sent to Russia.", TEXT, TITLE, None)
    assert TEXT[quote.start : quote.end].startswith("NBC News reported earlier this week")
    assert TEXT[quote.start : quote.end].endswith("this year.")


def test_tokens_normalise_numbers_contractions_and_number_words() -> None:
    tokens = tokenize("Seoul won't send 12,000 troops, or three tanks.")
    norms = [t.norm for t in tokens]
    assert "not" in norms and "12000" in norms and "3" in norms
    assert [t.name for t in tokens][:1] == [True]


def test_sample_question_from_the_issue_is_refused() -> None:
    passage = Passage(
        n=1, doc_id="nk", chunk_id="nk:0", title=TITLE, published="2024-11-04",
        start=0, end=len(TEXT), score=0.5, text=TEXT,
    )  # fmt: skip
    result = check_answer("Yes, Russia sent weapons to North Korea [1].", [passage])
    assert not result.grounded
    assert result.sentences[0].reason == "roles differ from quote"


PARK = (
    "Dinosaur tracks from around 113 million years ago have been revealed at Dinosaur Valley "
    "State Park in Texas due to severe drought conditions that dried up a river, the park said."
)


def test_names_standing_in_each_others_places_are_caught() -> None:
    # no role word (to/from/by) marks them: the words beside each name do
    swapped = (
        "Texas tracks have been revealed at Texas Valley State Park in Dinosaur due to drought."
    )
    assert verdict(swapped, PARK, "Drought reveals tracks") == (False, "roles differ from quote")
    kept = (
        "Dinosaur tracks have been revealed at Dinosaur Valley State Park in Texas due to drought."
    )
    assert verdict(kept, PARK, "Drought reveals tracks") == (True, None)


def test_a_list_of_names_may_come_in_any_order() -> None:
    text = "More than a million people in Puerto Rico and the Dominican Republic are without power."
    claim = (
        "More than a million people in the Dominican Republic and Puerto Rico are without power."
    )
    assert verdict(claim, text, "Hurricane Fiona") == (True, None)


def test_iso_dates_and_passage_numbers_are_read_as_the_model_meant_them() -> None:
    # the model copies the date line's form, and points at "passage 2": neither is a wrong number
    claim = (
        "On 2024-11-04, Seoul said North Korea was preparing to send weapons to Russia (passage 2)."
    )
    assert verdict(claim) == (True, None)
    wrong_day = "On 2024-11-09, Seoul said North Korea was preparing to send weapons to Russia."
    assert verdict(wrong_day) == (False, "number 9 not in quote")


def test_a_passage_naming_none_of_the_questions_names_does_not_answer_it() -> None:
    text = "Heineken will stop producing and selling beer in Russia, the brewer said on Monday."
    passage = Passage(
        n=1, doc_id="h", chunk_id="h:0", title="Heineken to leave Russia", published="2023-08-01",
        start=0, end=len(text), score=0.5, text=text,
    )  # fmt: skip
    answer = "Heineken will stop producing and selling beer in Russia [1]."
    off = check_answer(answer, [passage], "Disney this week stopped selling what in Australia?")
    assert not off.grounded and off.sentences[0].reason == "does not answer the question"
    # one of the question's names is enough; its first word and acronyms ("EVs") are not asked
    on = check_answer(answer, [passage], "Which brewer will stop selling beer in Russia?")
    assert on.grounded
    acronym = check_answer(answer, [passage], "Selling what did the brewer stop, EVs or beer?")
    assert acronym.grounded


def test_demonyms_are_their_country() -> None:
    text = "The final will be played at the Stade de France, north of Paris, in October."
    claim = "The final will be played in a French stadium in October."
    assert verdict(claim, text, "Rugby World Cup") == (True, None)
    assert verdict("The final will be played at a Spanish stadium.", text, "Rugby")[0] is False


def test_a_name_from_the_next_sentence_does_not_take_over_what_another_name_did() -> None:
    text = (
        "Succession earned the most nominations of any show, a total of 25 nods. "
        "Ted Lasso led the comedy category, earning 20 nominations."
    )
    wrong = "Ted Lasso received the most nominations of any show, a total of 25 nods."
    assert verdict(wrong, text, "Emmy nominations") == (
        False,
        "name Ted is from another sentence",
    )
    assert verdict(wrong.replace("Ted Lasso", "Succession"), text, "Emmy nominations")[0]
    # said of "it", the rest may come from the next sentence
    text = "Ted Lasso is a comedy series. It received 20 nominations this year."
    assert verdict("Ted Lasso received 20 nominations.", text, "Emmy nominations")[0]


def test_an_article_years_older_does_not_answer_a_question_about_recent_news() -> None:
    def passage(n: int, text: str, title: str, published: str) -> Passage:
        return make_passage(text, title, published, n)

    old = passage(
        1, "McDonald's will add McGriddles to its breakfast menu this fall.", "Menu", "2016-07-06"
    )
    fresh = passage(
        2, "Wendy's is adding a sweet treat for breakfast.", "Wendy's treat", "2022-08-09"
    )
    answer = "McDonald's added McGriddles to its menu this fall [1]."
    recent = check_answer(answer, [old, fresh], "Which new treat did McDonald's add to its menu?")
    assert not recent.grounded
    assert (
        recent.sentences[0].reason
        == "recent news asked; its article (2016-07-06) is 2225 days older"
    )
    # a question that does not ask about the news of the moment may be answered from any year
    timeless = check_answer(answer, [old, fresh], "Which treat did McDonald's add to its menu?")
    assert timeless.grounded
    # nor is an article old when nothing newer was retrieved beside it
    alone = check_answer(answer, [old], "Which new treat did McDonald's add to its menu?")
    assert alone.grounded


def test_a_number_the_quote_lists_beside_another_item_is_not_the_claims() -> None:
    text = (
        "The cost of eggs has soared 38%, and prices for other goods have also jumped: flour is "
        "up 22.7%, chicken 17.6%, milk 15.6% and bacon 9.2%."
    )
    assert verdict("The cost of eggs soared 38%.", text, "Grocery prices") == (True, None)
    assert verdict("Bacon prices were up 9.2%.", text, "Grocery prices") == (True, None)
    wrong = verdict("Bacon showed the largest price spike, a 38% increase.", text, "Grocery prices")
    assert wrong == (False, "number 38 not in quote")


def test_a_number_keeps_its_role_word() -> None:
    text = (
        "The council could raise the minimum wage for fast food workers to up to $22 an hour, "
        "well above the $15 an hour in the state."
    )
    title = "New California law could raise fast-food wages"
    assert verdict("The law could raise the minimum wage to $22 an hour.", text, title) == (
        True,
        None,
    )
    wrong = verdict("The law could raise the minimum wage to $15 an hour.", text, title)
    assert wrong == (False, "number 15 not in quote")
    # a number the quote gives no other number's role word is left alone
    assert verdict("The state minimum wage is $15 an hour.", text, title)[0] is True


def test_according_to_names_the_reporter_not_a_role() -> None:
    """The shipped sample: the model's word order differs from the article's, and "according to
    NBC" says who reported it; the answer must not be refused as a role swap."""
    question = "How many North Korean troops were sent to Russia, according to NBC?"
    passage = Passage(
        n=1, doc_id="a", chunk_id="a:0", title=TITLE, start=0, end=len(TEXT), score=1.0, text=TEXT
    )
    answer = "12,000 North Korean troops were sent to Russia according to NBC [1]."
    checked = check_answer(answer, [passage], question)
    assert checked.grounded, checked.sentences
    # a "to" that is a role still is one: the troops did not go to NBC
    assert verdict("12,000 North Korean troops were sent to NBC by Russia.")[0] is False


def test_word_lists_are_data_files() -> None:
    data = files("qa.checking") / "data"
    assert "never" in word_set("negations")
    assert word_map("irregular_verbs", forward=False)["sent"] == "send"
    assert (data / "stopwords.txt").read_text().count("\n") > 100
    assert tokenize("They sent troops")[1].stem == tokenize("They send troops")[1].stem


def test_a_number_the_question_gives_may_be_repeated() -> None:
    """As with its names: "after being suspended for two years?" is the asker's figure."""
    text = (
        "Public tours of the White House will resume a full operating schedule on July 19 for "
        "the first time since they were suspended in 2020 because of the Covid-19 pandemic."
    )
    claim = (
        "The White House announced public tours will resume after being suspended for two years."
    )
    question = (
        "Which attraction announced public tours will resume after being suspended for two years?"
    )
    assert best_quote(claim, text, "White House tours", "2022-06-28", question).verdict.supported
    # without the question, "two" is a figure no quote gives
    assert verdict(claim, text, "White House tours") == (False, "number two not in quote")


def test_a_number_from_the_next_sentence_does_not_take_over_another_figure() -> None:
    text = (
        "A consensus has emerged that Trump acted at least unethically in trying to hold on to "
        "his office (79% feel he acted unethically or illegally). All told, the poll finds that "
        "69% of Americans consider the attack a crisis for democracy."
    )
    wrong = "69% of Americans feel that Trump acted unethically in trying to hold on to his office."
    assert verdict(wrong, text, "CNN Poll") == (False, "number 69 is from another sentence")
    assert verdict(wrong.replace("69%", "79%"), text, "CNN Poll")[0]
    # a figure of another kind beside it (metres, hours) is no rival for the euros
    text = (
        "Marlow opened its new flood barrier after the river rose 2.4 metres in 36 hours. "
        "The barrier, which cost 48 million euros, held back the water."
    )
    assert verdict("Marlow's new flood barrier cost 48 million euros.", text, "Marlow")[0]


def test_a_question_and_its_options_state_nothing() -> None:
    """A "5 things to know" article carries the week's quiz: its options are not facts."""
    text = (
        "QUIZ TIME\n\nWhich company is being accused of turning off the AC in its stores?\n\n"
        "A. IKEA\n\nB. Bed Bath & Beyond\n\nC. Best Buy\n\nTODAY'S NUMBER\n\n141"
    )
    question = "Which company is being accused of turning off the AC in its stores?"
    for claim in ("A. IKEA", "IKEA is being accused of turning off the AC in its stores."):
        quote = best_quote(claim, text, "5 things to know", "2022-07-01", question)
        assert not quote.verdict.supported, claim
    passages = [make_passage(text, "5 things to know", "2022-07-01")]
    checked = check_answer("A. IKEA [1]", passages, question)  # nor read as the passage's words
    assert not checked.grounded and checked.checked[0].score == 0.0
    # a sentence that states something still carries its claim
    text += "\n\nAnalysts accused Bed Bath & Beyond of turning off the AC in its stores."
    claim = "Bed Bath & Beyond is accused of turning off the AC in its stores."
    assert best_quote(claim, text, "5 things", "2022-07-01", question).verdict.supported


def test_a_dateline_is_not_where_the_story_happened() -> None:
    text = "Washington CNN —\n\nPaul Pelosi was attacked at the couple's San Francisco home."
    question = "In which city did the attack on Paul Pelosi occur?"
    wrong = "The attack on Paul Pelosi occurred in Washington."
    assert not best_quote(wrong, text, "Pelosi attack", "2022-10-28", question).verdict.supported
    right = "The attack on Paul Pelosi occurred in San Francisco."
    assert best_quote(right, text, "Pelosi attack", "2022-10-28", question).verdict.supported


@pytest.mark.parametrize(
    ("claim", "quote"),
    [
        (
            "Liz Truss became prime minister of the United Kingdom.",
            "Liz Truss became the British prime minister.",
        ),
        ("The UK saw its prime minister resign.", "Britain's prime minister resigned on Thursday."),
        ("Heavy drinking rose in the United States.", "Heavy drinking rose in the U.S. last year."),
        ("The plant is in Louisiana, USA.", "the plant is in louisiana in the united states ."),
    ],
)
def test_a_countrys_names_are_one_name(claim: str, quote: str) -> None:
    assert verdict(claim, quote, "News")[0], claim


def test_a_countrys_name_is_not_read_into_other_words() -> None:
    # "us" is a pronoun; "United" alone is no country
    assert verdict("The US sent them aid.", "They told us aid was sent.", "News") == (
        False,
        "name US not in quote",
    )
    assert not verdict("United Kingdom officials met.", "United Airlines officials met.", "News")[0]
