from index.chunk import chunk_text, count_tokens
from index.embed import Embedder
from index.load import Document, load_path
from qa.checking.answer import check_answer
from qa.domain import Passage
from qa.trim import HEADER_TOKENS, Trimmer, lexical_scores
from tests.utils.support import QUESTION, SAMPLE_ARTICLE


def _passages(embedder: Embedder) -> tuple[str, list[Passage]]:
    """The sample article's chunks most similar to QUESTION, best first, as retrieval ranks."""
    [doc] = list(load_path(SAMPLE_ARTICLE))
    assert isinstance(doc, Document)
    chunks = chunk_text(doc.id, doc.text, 128, 0)
    similarity = embedder.embed([c.text for c in chunks]) @ embedder.embed([QUESTION])[0]
    best = sorted(range(len(chunks)), key=lambda i: -similarity[i])[:4]
    passages = [
        Passage(n=n, doc_id=doc.id, chunk_id=chunks[i].id, title=doc.title, published="2024-11-04",
                text=chunks[i].text, start=chunks[i].start, end=chunks[i].end, score=0.5)
        for n, i in enumerate(best, start=1)
    ]  # fmt: skip
    return doc.text, passages


def _cost(passages: list[Passage]) -> int:
    return sum(HEADER_TOKENS + count_tokens(p.title) + count_tokens(p.text) for p in passages)


def test_trimmed_passages_are_exact_slices_within_the_budget(embedder: Embedder) -> None:
    article, passages = _passages(embedder)
    trimmed = Trimmer(budget=200).trim(QUESTION, passages)
    assert 0 < len(trimmed) < len(passages) or _cost(trimmed) < _cost(passages)
    assert _cost(trimmed) <= 200 + len(trimmed)  # +1 per sentence for the space between
    assert [p.n for p in trimmed] == list(range(1, len(trimmed) + 1))
    for p in trimmed:
        assert article[p.start : p.end] == p.text
    kept = " ".join(p.text for p in trimmed)
    assert "240mm multiple rocket launchers and 170mm self-propelled howitzers" in kept


def test_citations_from_trimmed_passages_point_into_the_article(embedder: Embedder) -> None:
    article, passages = _passages(embedder)
    trimmed = Trimmer(budget=200).trim(QUESTION, passages)
    best = next(p for p in trimmed if "240mm" in p.text)
    answer = f"North Korea supplied 240mm multiple rocket launchers to Russia [{best.n}]."
    checked = check_answer(answer, trimmed, QUESTION)
    assert checked.grounded
    [citation] = checked.citations
    assert "240mm multiple rocket launchers" in citation.quote
    assert article[citation.start : citation.end] == citation.quote


def test_a_passage_keeps_one_window_in_reading_order() -> None:
    # lexical only: the two matching sentences are apart, the one between them comes along
    text = "Rain fell all day. Apples cost 3 euros. The mayor spoke. Pears cost 5 euros."
    passage = Passage(n=1, doc_id="d", chunk_id="d:0", title="Market", text=text,
                      start=100, end=100 + len(text), score=1.0)  # fmt: skip
    [trimmed] = Trimmer(budget=200).trim("What did apples and pears cost?", [passage])
    assert trimmed.text == "Apples cost 3 euros. The mayor spoke. Pears cost 5 euros."
    assert trimmed.start == 100 + text.index("Apples")
    [one] = Trimmer(budget=1).trim("What did pears cost?", [passage])
    assert one.text == "Pears cost 5 euros."  # over budget, the best sentence still goes


def test_lexical_scores_weigh_rare_question_words() -> None:
    sentences = ["Russia said it.", "Russia got 240mm rockets.", "Seoul spoke about Russia."]
    scores = lexical_scores("Which rockets did Russia get?", sentences)
    assert scores.argmax() == 1 and scores[0] < scores[1]
