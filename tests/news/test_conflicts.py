"""The conflict detector over real spaCy parses: figures for one counted thing that different
articles disagree on, and none where they agree or count different things."""

from __future__ import annotations

from qa.domain import Conflict, ConflictClaim, Passage
from qa.news.conflicts import detect, read, reported


def passage(n: int, doc_id: str, text: str, source: str, published: str) -> Passage:
    return Passage(
        n=n,
        doc_id=doc_id,
        chunk_id=f"{doc_id}-0",
        title="",
        source=source,
        published=published,
        start=0,
        end=len(text),
        score=0.5,
        text=text,
    )


def pair(first: str, second: str) -> list[Conflict]:
    return detect(
        [
            passage(1, "nbc", first, "NBC", "2024-11-04"),
            passage(2, "reuters", second, "Reuters", "2024-11-05T09:00:00"),
        ]
    )


NBC = "Some 12,000 North Korean troops have been deployed to Russia, officials said."


def test_12000_against_10000_troops_is_a_conflict_with_both_sources_and_dates() -> None:
    [conflict] = pair(NBC, "North Korea has sent 10,000 troops to Russia, a source said.")
    assert conflict.about == "North Korean troops"
    assert [(c.value, c.source, c.published, c.citation) for c in conflict.claims] == [
        ("Some 12,000", "NBC", "2024-11-04", 1),
        ("10,000", "Reuters", "2024-11-05", 2),
    ]
    assert conflict.claims[1].quote.startswith("North Korea has sent 10,000 troops")


def test_troops_against_tanks_count_different_things() -> None:
    assert pair(NBC, "Russia received 3 tanks from North Korea.") == []


def test_the_same_figure_or_a_compatible_hedge_is_no_conflict() -> None:
    assert pair(NBC, "About 12,000 North Korean soldiers are in Russia.") == []
    assert pair(NBC, "More than 10,000 North Korean troops are in Russia.") == []
    assert pair(NBC, "Between 11,000 and 13,000 North Korean troops are in Russia.") == []


def test_hedges_and_ranges_are_read_as_bounds() -> None:
    text = "Between 11,000 and 13,000 North Korean troops and more than 50 tanks are in Russia."
    [reading] = read([passage(1, "a", text, "A", "2024-11-04")])
    bounds = {f.thing: (f.low, f.high) for f in reading.figures}
    assert bounds == {"troop": (11_000, 13_000), "tank": (50, float("inf"))}


def test_an_ongoing_count_that_changed_between_reports_is_reported_with_its_dates() -> None:
    [conflict] = pair(
        "The death toll has risen to 95, officials said.", "The death toll rose to 120 on Friday."
    )
    assert conflict.about == "death toll"
    assert [(c.value, c.published) for c in conflict.claims] == [
        ("95", "2024-11-04"),
        ("120", "2024-11-05"),
    ]


def test_different_actors_or_verbs_count_different_things() -> None:
    assert pair("Ford will cut 3,000 jobs in Europe.", "GM will cut 1,000 jobs in Europe.") == []
    assert pair("The storm killed 14 people.", "Officials evacuated 300 people.") == []


def test_at_least_is_a_lower_bound_and_a_figure_below_it_conflicts() -> None:
    assert pair("The storm killed at least 14 people.", "The storm killed 20 people.") == []
    assert len(pair("The storm killed at least 14 people.", "The storm killed 9 people.")) == 1


def test_passages_of_one_article_never_conflict() -> None:
    text = "Some 12,000 North Korean troops are in Russia. Another 3,000 troops will follow."
    same = [
        passage(1, "nbc", NBC, "NBC", "2024-11-04"),
        passage(2, "nbc", "North Korea has sent 10,000 troops to Russia.", "NBC", "2024-11-04"),
    ]
    assert detect(same) == []
    # an article that also gives a second figure does not conflict with one giving the first
    assert pair(text, "About 12,000 North Korean troops have arrived in Russia.") == []


def test_shares_and_sums_are_compared_with_their_unit() -> None:
    [share] = pair("Inflation rose to 3.2% in October.", "Inflation rose to 2.9% in October.")
    assert share.about == "Inflation (%)"
    assert pair("Inflation rose to 3.2% in October.", "Inflation rose to 3.2% last month.") == []


def test_reported_needs_each_figure_in_a_sentence_citing_its_passage() -> None:
    conflict = Conflict(
        about="troops",
        claims=[
            ConflictClaim(value="some 12,000", citation=1, quote=""),
            ConflictClaim(value="10,000", citation=2, quote=""),
        ],
    )
    both = [("NBC reported 12,000 troops.", [1]), ("Reuters put it at 10000.", [2])]
    assert reported(conflict, both)
    assert not reported(conflict, both[:1])
    assert not reported(conflict, [("NBC reported 12,000 troops.", [2]), both[1]])


def test_a_number_that_describes_another_noun_counts_nothing() -> None:
    assert pair("She is a six-time All-Star.", "He is a seven-time All-Star.") == []
