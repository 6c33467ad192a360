"""`qa eval`: the metrics, and the command on the shipped sample corpus and question set."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.eval.answers import (
    choice_correct,
    contains_answer,
    exact_match,
    load_questions,
    named_choice,
    retrieval_scores,
    token_f1,
)
from qa.testing.llm_server import FakeLLM
from tests.utils.support import COLLECTION, ROOT
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
