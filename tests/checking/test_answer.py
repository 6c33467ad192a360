from qa.checking.answer import NOT_ANSWERED, SentenceStream, check_answer, parse_answer
from qa.domain import Passage
from tests.utils.passages import make_passage, sample_passages


def weapons_n(found: list[Passage]) -> int:
    return next(p.n for p in found if "240mm" in p.text)


def test_marker_becomes_citation_with_exact_quote_and_offsets() -> None:
    doc, found = sample_passages()
    n = weapons_n(found)
    text = f"North Korea supplied 240mm multiple rocket launchers and 170mm self-propelled howitzers [{n}]."
    result = check_answer(text, found)
    assert result.grounded
    [citation] = result.citations
    assert citation.n == n and citation.doc_id == doc.id
    assert "240mm multiple rocket launchers and 170mm self-propelled howitzers" in citation.quote
    assert doc.text[citation.start : citation.end] == citation.quote
    assert citation.quote.startswith("The JCS has detected")  # a whole sentence, not a fragment
    assert result.sentences[0].supported and result.sentences[0].citations == [n]


def test_out_of_range_markers_are_dropped() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    text = f"North Korea supplied 240mm multiple rocket launchers [{n}][99] [0]."
    result = check_answer(text, found)
    assert [c.n for c in result.citations] == [n]
    assert "[99]" not in result.answer and "[0]" not in result.answer


def test_marker_after_full_stop_and_grouped_markers() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    troops_n = next(p.n for p in found if "12,000" in p.text)
    text = f"The North sent 170mm self-propelled howitzers. [{n}] Some 12,000 troops were sent to Russia [{troops_n}, {n}]."
    result = check_answer(text, found)
    # a sentence cites only the passages whose quote carries it: [n] has no 12,000 troops
    assert [s.citations for s in result.sentences] == [[n], [troops_n]]
    assert all(s.supported for s in result.sentences)


def test_unrelated_answer_is_not_grounded() -> None:
    _, found = sample_passages()
    result = check_answer("Germany won the 1998 World Cup [4].", found)
    assert not result.grounded
    assert result.answer == NOT_ANSWERED
    assert result.citations == []
    assert result.sentences[0].supported is False


def test_wrong_number_is_not_supported() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    result = check_answer(f"North Korea supplied 250mm multiple rocket launchers [{n}].", found)
    assert not result.grounded


def test_unsupported_sentence_is_removed_but_reported() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    text = (
        f"North Korea supplied 240mm multiple rocket launchers [{n}]. "
        f"France also sent 300 fighter jets to Pyongyang [{n}]."
    )
    result = check_answer(text, found)
    assert result.grounded
    assert "France" not in result.answer
    assert [s.supported for s in result.sentences] == [True, False]


def test_missing_marker_gets_a_verified_citation() -> None:
    _, found = sample_passages()
    result = check_answer("Some 12,000 North Korean troops have been sent to Russia.", found)
    assert result.grounded
    [citation] = result.citations
    assert "12,000 North Korean troops" in citation.quote


def test_model_refusal_is_not_grounded() -> None:
    # no rule of its own (removed: on the measurement sets the quote rules caught every one)
    _, found = sample_passages()
    result = check_answer("The passages do not mention the World Cup [1].", found)
    assert not result.grounded


def test_the_prompts_passage_fence_is_read_as_a_marker() -> None:
    parsed = parse_answer('It sent 170mm howitzers <passage id="2">. See <passage id="1"> for it.')
    assert [(p.claim, p.cited) for p in parsed] == [("It sent 170mm howitzers.", (2,))]


def test_pointer_sentences_are_not_claims() -> None:
    parsed = parse_answer(
        "The price was 48 million euros. This information is found in passage [1]."
    )
    assert [p.claim for p in parsed] == ["The price was 48 million euros."]


def test_parse_answer_is_the_one_marker_grammar() -> None:
    parsed = parse_answer(
        "It sent howitzers. [1][2] About 12,000 troops went [2, 3].\n[4] a list item (passage 1)"
    )
    assert [(p.claim, p.cited) for p in parsed] == [
        ("It sent howitzers.", (1, 2)),
        ("About 12,000 troops went.", (2, 3)),
        ("a list item", (4, 1)),
    ]


def test_sentence_stream_gives_each_sentence_once_complete() -> None:
    text = "It sent 170mm howitzers. [1][2] About 12,000 troops went to Russia [2]. Then it left"
    stream, seen = SentenceStream(), []
    for i in range(0, len(text), 3):  # three characters at a time, as a model streams
        seen += [(p.claim, p.cited) for p in stream.feed(text[i : i + 3])]
        if i < text.index("About"):
            assert seen == []  # markers may still follow the first full stop
    seen += [(p.claim, p.cited) for p in stream.close()]
    assert seen == [
        ("It sent 170mm howitzers.", (1, 2)),
        ("About 12,000 troops went to Russia.", (2,)),
        ("Then it left", ()),
    ]
    assert [p.claim for p in parse_answer(text)] == [c for c, _ in seen]


def test_wrong_marker_is_repaired_to_the_supporting_passage() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    wrong = next(p.n for p in found if "240mm" not in p.text)
    result = check_answer(f"North Korea supplied 170mm self-propelled howitzers [{wrong}].", found)
    assert result.grounded and [c.n for c in result.citations] == [n]
    assert result.sentences[0].citations == [n]


def test_marker_list_lines_keep_their_own_markers() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    troops = next(p.n for p in found if "12,000" in p.text)
    result = check_answer(
        f"[{n}] 240mm multiple rocket launchers\n[{troops}] some 12,000 North Korean troops", found
    )
    assert [s.citations for s in result.sentences] == [[n], [troops]]


def test_parenthesised_passage_marker_is_a_citation() -> None:
    _, found = sample_passages()
    n = weapons_n(found)
    result = check_answer(
        f"The North supplied 170mm self-propelled howitzers (passage {n}).", found
    )
    assert "(passage" not in result.answer and [c.n for c in result.citations] == [n]


def test_unsupported_sentence_keeps_the_markers_the_model_wrote() -> None:
    _, found = sample_passages()
    result = check_answer("France sent 300 fighter jets to Pyongyang [2].", found)
    assert result.sentences[0].citations == [2] and not result.sentences[0].supported


def test_a_sentence_may_name_its_passages_outlet_but_not_another() -> None:
    text = "Some 12,000 North Korean troops have been deployed to Russia, US officials said."
    nbc = make_passage(
        text, "North Korean troops head to the front", "2024-11-04", doc_id="nbc", source="NBC"
    )
    said = "NBC reported about 12,000 troops on 4 November [1]."
    assert check_answer(said, [nbc]).grounded
    wrong = check_answer(said.replace("NBC", "Reuters"), [nbc])
    assert not wrong.grounded and wrong.sentences[0].reason == "name Reuters not in quote"
