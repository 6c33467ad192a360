"""`qa eval`: the metrics, and the command on the shipped sample corpus and question set."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from index.load import Document
from qa.eval.answers import (
    EvalQuestion,
    WithoutArticles,
    choice_correct,
    contains_answer,
    evaluate_answers,
    evaluate_unanswerable,
    exact_match,
    load_questions,
    named_choice,
    retrieval_scores,
    token_f1,
    unanswerable,
)
from qa.llm.base import Message
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieval.retriever import Retriever
from qa.services import build_index, build_retriever, build_store
from qa.testing.fakes import HashingEmbedder, ScriptedLLM
from qa.testing.llm_server import FakeLLM
from tests.utils.support import COLLECTION, ROOT, make_settings, sample_docs
from tests.utils.support import run_cli as run

SAMPLE_QUESTIONS = ROOT / "data" / "eval" / "sample-questions.jsonl"
SAMPLE = {"QA_COLLECTION": COLLECTION}  # the collection `sample_data` holds


def test_answer_metrics_use_squad_normalisation() -> None:
    assert exact_match("The Squid Game!", "“Squid Game”") == 1.0
    assert exact_match("Squid Game season 2", "Squid Game") == 0.0
    assert token_f1("Squid Game season 2", "Squid Game") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("nothing alike", "Squid Game") == 0.0
    assert contains_answer("It was Europe, officials said.", "Europe") == 1.0
    assert contains_answer("Europeans said so", "Europe") == 0.0, "whole words only"


def test_retrieval_metrics_count_an_article_once() -> None:
    ranked = [{"a"}, {"b", "b-copy"}, {"c"}]
    first = retrieval_scores(ranked, {"a"})
    assert first["recall@1"] == first["mrr@10"] == first["ndcg@10"] == 1.0
    second = retrieval_scores(ranked, {"b"})
    assert (second["recall@1"], second["recall@5"], second["mrr@10"]) == (0.0, 1.0, 0.5)
    assert second["ndcg@10"] == pytest.approx(1 / math.log2(3))
    copies = retrieval_scores(ranked, {"b", "b-copy"})
    assert copies["recall@5"] == 1.0 and copies["ndcg@10"] < 1.0
    missing = retrieval_scores(ranked, {"z"})
    assert missing["recall@10"] == missing["mrr@10"] == missing["ndcg@10"] == 0.0


def test_question_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "ok?"}\n{"answer": "no question"}\n')
    with pytest.raises(ValueError, match=r"q.jsonl:2"):
        load_questions(bad)


def test_eval_compares_modes_on_the_sample_set(tmp_path: Path, sample_data: Path) -> None:
    out = tmp_path / "eval.json"
    result = run(
        ["eval", str(SAMPLE_QUESTIONS), "--compare", "vector,bm25,hybrid", "--out", str(out)],
        tmp_path,
        **SAMPLE,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("| mode | recall@1 |") and "| hybrid |" in result.stdout
    scores = json.loads(out.read_text())
    for mode in ("vector", "bm25", "hybrid"):
        retrieval = scores[mode]["retrieval"]
        assert retrieval["questions"] == 30
        # floors from measurement (all three measured 1.0 / 1.0 / 0.97+); below means a regression
        assert retrieval["recall@5"] >= 0.95 and retrieval["mrr@10"] >= 0.9, (mode, retrieval)


def test_eval_scores_answers_from_the_configured_llm(
    tmp_path: Path, sample_data: Path, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    state, url = fake_llm_server
    state.reset()  # extractive: the passage sentence that shares most words with the question
    env = {"QA_LLM_BASE_URL": url, "QA_LLM_MODEL": "fake-model", **SAMPLE}
    result = run(["eval", str(SAMPLE_QUESTIONS), "--answers", "--json"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)["hybrid"]["answers"]
    assert answers["questions"] == 30 and answers["llm_failures"] == 0
    # measured with the extractive fake: whole sentences, so exact match stays near 0
    assert answers["grounded"] >= 0.9 and answers["citation_precision"] >= 0.8, answers
    assert answers["answer_accuracy"] >= 0.5 and answers["exact_match"] <= 0.2, answers
    assert len(state.requests) == 30


def test_questions_without_gold_articles_score_answers_only(
    tmp_path: Path, sample_data: Path, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    state, url = fake_llm_server
    state.reset()
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "How much did the barrier cost and how many years did it take to build?", "answer": "48 million euros"}\n'
    )
    env = {"QA_LLM_BASE_URL": url, "QA_LLM_MODEL": "fake-model", **SAMPLE}
    result = run(["eval", str(questions), "--answers", "--json"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout, parse_constant=_reject)["hybrid"]  # strict JSON
    assert scores["retrieval"] == {"questions": 0}  # nothing to score without gold articles
    assert scores["answers"]["answer_accuracy"] == 1.0, scores  # the extractive answer has it
    assert scores["answers"]["citation_precision"] is None  # no gold article to be precise about


def _reject(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def test_eval_refuses_an_empty_index_and_unknown_modes(tmp_path: Path) -> None:
    empty = run(["eval", str(SAMPLE_QUESTIONS)], tmp_path)
    assert empty.returncode == 2 and "qa ingest" in empty.stderr
    unknown = run(["eval", str(SAMPLE_QUESTIONS), "--compare", "vector,dense"], tmp_path)
    assert unknown.returncode == 2 and "dense" in unknown.stderr


def test_an_answer_names_the_choice_it_holds_most_of() -> None:
    choices = ["“Game of Thrones”", "“Squid Game”", "“Breaking Bad”", "“Friends”"]
    assert named_choice("Netflix renewed Squid Game [1].", choices) == "“Squid Game”"
    assert choice_correct("Netflix renewed Squid Game [1].", choices, "“Squid Game”") == 1.0
    assert choice_correct("It was Friends.", choices, "“Squid Game”") == 0.0
    assert named_choice("The passages do not say.", choices) is None
    assert named_choice("Europe and Asia agreed.", ["Europe", "Asia", "Africa"]) is None, "a tie"
    measures = ["Investment in mental health", "Ban on military-style assault weapons"]
    assert named_choice("A ban on assault weapons was left out.", measures) == measures[1]
    assert named_choice("Health was mentioned.", measures) is None, "under half its words"


# --- issue 25: scoring by the choice named, the check against the model's own answers ---------
LEADERS = [
    "UK Prime Minister Boris Johnson",
    "Italian Prime Minister Mario Draghi",
    "French President Emmanuel Macron",
    "German Chancellor Olaf Scholz",
]
TEAMS = ["Los Angeles Dodgers", "New York Yankees", "Houston Astros", "Atlanta Braves"]


def test_choice_scoring_counts_the_right_answers_substring_misses() -> None:
    said = "Boris Johnson announced his resignation [1]."
    assert contains_answer(said, LEADERS[0]) == 0.0  # the undercount of the issue
    assert named_choice(said, LEADERS) == LEADERS[0]
    assert choice_correct(said, LEADERS, LEADERS[0]) == 1.0
    assert contains_answer("The Dodgers won the pennant.", "Los Angeles Dodgers") == 0.0
    assert choice_correct("The Dodgers won the pennant.", TEAMS, "Los Angeles Dodgers") == 1.0
    # the words all choices share name none of them; each choice's own words do
    series = [f"Houston Astros & {team}" for team in ("New York Yankees", "Philadelphia Phillies")]
    assert named_choice("The Astros face the Phillies.", series) == series[1]
    assert named_choice("The Astros are in it.", series) is None
    australia = ["Asia", "Australia", "Antarctica", "Africa"]
    assert (
        named_choice("It launched from Australia's Northern Territory.", australia) == "Australia"
    )
    assert named_choice("It was extended for six months.", ["3", "4", "5", "6"]) == "6"


def test_choice_scoring_still_marks_wrong_and_unclear_answers() -> None:
    assert choice_correct("Mario Draghi resigned.", LEADERS, LEADERS[0]) == 0.0
    assert named_choice("The Yankees beat the Dodgers.", TEAMS) is None, "two named: a tie"
    assert named_choice("A prime minister resigned.", LEADERS) is None, "words every leader has"
    assert named_choice("York voted.", TEAMS) is None, "one of its words, not its name: under half"


SCANDAL = Document(
    id="scandal",
    title="Johnson quits",
    published="2022-07-07",
    text="Boris Johnson announced his resignation on Thursday. "
    "Mario Draghi announced his support for the plan.",
)
WEATHER = Document(
    id="weather",
    title="Heatwave",
    published="2022-07-06",
    text="A heatwave is expected across Europe this weekend.",
)
PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def cite(needle: str, reply: str) -> Callable[[list[Message]], str]:
    """A reply citing the passage that holds `needle` as [n]."""

    def write(messages: list[Message]) -> str:
        found = PASSAGE.findall(messages[-1]["content"])
        return reply.format(n=next((n for n, text in found if needle in text), "9"))

    return write


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    embedder = HashingEmbedder()
    store = build_store(settings)
    index = build_index(settings, embedder, store)
    index.write([SCANDAL, WEATHER])
    return build_retriever(settings, embedder, store, index)


def leader_question(n: int) -> EvalQuestion:
    return EvalQuestion(
        id=f"q{n}",
        question="Which leader announced his resignation this week?",
        answer=LEADERS[0],
        choices=LEADERS,
        gold_doc_ids=["scandal"],
        date=dt.date(2022, 7, 8),
    )


def test_the_trust_figures_count_right_answers_refused_and_wrong_ones_grounded(
    retriever: Retriever,
) -> None:
    replies = [
        # right, and supported: shown
        cite("Boris", "Boris Johnson announced his resignation on Thursday [{n}]."),
        # right, but the check refuses it (57 is in no passage): a correct answer refused
        cite("Boris", "Boris Johnson resigned after 57 ministers quit [{n}]."),
        # wrong (names Draghi), and every word of it quoted: a wrong answer shown as grounded
        cite("Draghi", "Mario Draghi announced his support for the plan [{n}]."),
        # both named (a tie: wrong by choice); Johnson's sentence refused, Draghi's shown
        cite(
            "Draghi",
            "Mario Draghi announced his support for the plan [{n}]. Boris Johnson quit 57 times [{n}].",
        ),
        # right, its right sentence dropped (57) and a true one kept: shown, but not right
        cite(
            "Boris",
            "A resignation was announced on Thursday [{n}]. Boris Johnson quit after 57 votes [{n}].",
        ),
    ]
    llm = ScriptedLLM(lambda messages: replies[len(llm.calls) - 1](messages))
    service = QAService(retriever, llm, Prompts.load())
    questions = [leader_question(n) for n in range(5)]
    result = asyncio.run(evaluate_answers(service, questions, 4))
    rows = {row["id"]: row for row in result["rows"]}
    assert [rows[f"q{n}"]["grounded"] for n in range(5)] == [True, False, True, True, True]
    assert [rows[f"q{n}"]["choice_raw"] for n in range(5)] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert rows["q4"]["shown"] == "A resignation was announced on Thursday."
    # q3's raw answer names both leaders (a tie): wrong by choice; shown, it names Draghi
    assert rows["q3"]["named_shown"] == LEADERS[1] and rows["q3"]["choice_shown"] == 0.0
    assert rows["q1"]["sentences"][0]["reason"], "the refusal's reason is in the row"
    # what the model wrote, markers and all, for benchmarks/answer_replay.py; `raw` has none
    assert re.fullmatch(
        r"Boris Johnson resigned after 57 ministers quit \[\d\]\.", rows["q1"]["written"]
    )
    assert rows["q1"]["raw"] == "Boris Johnson resigned after 57 ministers quit."
    assert rows["q0"]["substring_raw"] == 0.0, "substring scoring misses every one of them"
    assert (result["model_right"], result["model_wrong"]) == (3, 2)
    assert (result["correct_refused"], result["correct_refused_share"]) == (2, 0.667)
    assert (result["wrong_shown_grounded"], result["wrong_shown_grounded_share"]) == (2, 1.0)
    assert (result["choice_raw"], result["choice_shown"]) == (0.6, 0.2)
    assert (result["substring_raw"], result["substring_shown"]) == (0.0, 0.0)


def test_without_choices_the_trust_figures_score_by_substring(retriever: Retriever) -> None:
    llm = ScriptedLLM(cite("Boris", "Boris Johnson announced his resignation [{n}]."))
    question = EvalQuestion(
        question="Which leader announced his resignation this week?", answer="Boris Johnson"
    )
    result = asyncio.run(evaluate_answers(QAService(retriever, llm, Prompts.load()), [question], 4))
    assert (result["model_right"], result["correct_refused"], result["choice_raw"]) == (1, 0, None)
    assert result["substring_raw"] == result["substring_shown"] == 1.0


def test_a_question_asked_without_its_gold_articles_never_sees_them(
    retriever: Retriever,
) -> None:
    without = WithoutArticles(retriever)
    assert {p.doc_id for p in without.search("Johnson resignation heatwave", 4)} == {
        "scandal",
        "weather",
    }, "nothing excluded: the retriever as it was"
    without.excluded = {"scandal"}
    passages = without.search("Johnson resignation heatwave", 4)
    assert [(p.n, p.doc_id) for p in passages] == [(1, "weather")], "renumbered from 1"
    # the service asks the LLM over the other articles only: the answer from gold is refused
    llm = ScriptedLLM(cite("Boris", "Boris Johnson announced his resignation on Thursday [{n}]."))
    service = QAService(retriever, llm, Prompts.load())
    result = asyncio.run(evaluate_unanswerable(service, [leader_question(0)], 4))
    assert "Boris Johnson" not in llm.calls[0][-1]["content"]
    assert (result["questions"], result["refused"], result["refused_share"]) == (1, 1, 1.0)
    assert result["gold_retrieved"] == 0
    assert result["rows"][0]["passage_doc_ids"] == ["weather"]
    assert service.retriever is retriever, "the service itself is left as it was"


def test_the_unanswerable_set_is_the_questions_only_their_gold_articles_answer() -> None:
    corpus = [
        {"id": "gold", "title": "", "text": "Boris Johnson resigned.", "published": "2022-07-07"},
        {"id": "other", "title": "Europe", "text": "A heatwave.", "published": "2022-07-06"},
        {
            "id": "later",
            "title": "",
            "text": "Boris Johnson, who quit...",
            "published": "2022-09-01",
        },
    ]
    asked = dict(gold_doc_ids=["gold"], date=dt.date(2022, 7, 8))
    only_gold = EvalQuestion(question="Who resigned?", answer="Boris Johnson", **asked)  # type: ignore[arg-type]
    elsewhere = EvalQuestion(question="Where is the heatwave?", answer="Europe", **asked)  # type: ignore[arg-type]
    no_gold = EvalQuestion(question="Who?", answer="Boris Johnson")
    # an article published after the question's day is not retrieved for it (as_of)
    assert unanswerable([only_gold, elsewhere, no_gold], corpus) == [only_gold]
    undated = only_gold.model_copy(update={"date": None})
    assert unanswerable([undated], corpus) == [], "undated: every article counts"


def test_eval_unanswerable_needs_answers_and_the_corpus(tmp_path: Path) -> None:
    result = run(["eval", str(SAMPLE_QUESTIONS), "--unanswerable"], tmp_path)
    assert result.returncode == 2 and "--corpus" in result.stderr


def test_eval_unanswerable_on_the_sample_set(
    tmp_path: Path, sample_data: Path, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    state, url = fake_llm_server
    state.reset()
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(doc) + "\n" for doc in sample_docs()))
    out = tmp_path / "u.json"
    env = {"QA_LLM_BASE_URL": url, "QA_LLM_MODEL": "fake-model", **SAMPLE}
    args = ["eval", str(SAMPLE_QUESTIONS), "--answers", "--unanswerable", "--corpus", str(corpus)]
    result = run([*args, "--out", str(out)], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())["hybrid"]
    assert "answers" not in scores and scores["retrieval"]["questions"] == 30
    asked = scores["unanswerable"]
    # the questions whose answer only their gold articles hold (each article of the invented
    # corpus has its own figures); one left without passages gets no LLM call
    assert asked["questions"] >= len(state.requests) > 0
    assert asked["gold_retrieved"] == 0
    for row in asked["rows"]:
        gold = next(q for q in load_questions(SAMPLE_QUESTIONS) if q.question == row["question"])
        assert not set(gold.gold_doc_ids) & set(row["passage_doc_ids"]), row
