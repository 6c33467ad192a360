"""Floors for the claim check on the committed slice built from our own sample articles
(`benchmarks/grounding_set.py`: the bundled model's answers, and copies with one fact made
wrong). The news-dev figures are in the README; these guard against regressions."""

import asyncio
import json
from pathlib import Path

from qa.eval.grounding import evaluate_claims, load_claims
from tests.utils.support import ROOT, run_cli

CLAIMS = ROOT / "data" / "eval" / "grounding" / "sample-claims.jsonl"
ANSWERS = ROOT / "data" / "eval" / "grounding" / "sample-answers.jsonl"


def test_claim_check_catches_one_wrong_fact_and_keeps_right_answers() -> None:
    results = asyncio.run(evaluate_claims(load_claims(CLAIMS)))
    kinds = results["kinds"]
    assert set(kinds) >= {"supported", "negated", "number_changed", "wrong_choice_unmentioned"}
    assert sum(k["claims"] for k in kinds.values()) >= 50
    assert results["recall_unsupported"] >= 0.9  # measured 0.98
    assert results["false_alarms"] <= 0.15  # measured 0.0 (one of 15 before the last change)
    assert kinds["negated"]["recall"] >= 0.9 and kinds["number_changed"]["recall"] >= 0.9


def test_refusal_on_unanswerable_questions_and_answers_kept_on_answerable_ones() -> None:
    kinds = asyncio.run(evaluate_claims(load_claims(ANSWERS)))["kinds"]
    assert kinds["unanswerable"]["claims"] >= 8 and kinds["unanswerable"]["recall"] >= 0.9
    assert kinds["answerable"]["false_alarms"] <= 0.1  # wrongly refused
    assert kinds["answerable"]["accuracy_after_check"] >= 0.9


def test_qa_eval_grounding_command(tmp_path: Path) -> None:
    done = run_cli(["eval", "--grounding", str(CLAIMS), "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["recall_unsupported"] >= 0.9 and results["ms_per_claim_p50"] > 0
    table = run_cli(["eval", "--grounding", str(CLAIMS)], tmp_path)
    assert "| roles_swapped |" in table.stdout and "| **all** |" in table.stdout
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        json.dumps(
            {"answer": "x", "passages": [{"id": "a", "start": 0, "end": 1}], "supported": True}
        )
    )
    missing = run_cli(["eval", "--grounding", str(refs)], tmp_path)
    assert missing.returncode == 2 and "--corpus" in missing.stderr


def _answer_row(answer: str, supported: bool, passage: str) -> dict[str, object]:
    return {
        "kind": "right answer" if supported else "wrong answer",
        "supported": supported,
        "question": "Which country saw its prime minister resign this week?",
        "answer": answer,
        "gold_answer": "United Kingdom",
        "choices": ["New Zealand", "Finland", "Canada", "United Kingdom"],
        "passages": [{"text": passage, "title": "Truss resigns", "published": "2022-10-20"}],
    }


def test_answers_with_quiz_choices_are_read_by_their_label() -> None:
    passage = "Liz Truss resigned as prime minister of the United Kingdom, the UK, on Thursday."
    rows = [
        # named by the choice scorer: what is kept must still name it
        _answer_row("The United Kingdom saw its prime minister resign.", True, passage),
        # right by hand (the scorer reads no choice in "the UK"): anything kept counts, but a
        # figure the passage does not give is refused
        _answer_row("The UK saw its prime minister resign after 45 days.", True, passage),
        # wrong, and grounded or not, never counted correct
        _answer_row("Canada saw its prime minister resign this week.", False, passage),
    ]
    kinds = asyncio.run(evaluate_claims(rows))["kinds"]
    right = kinds["right answer"]
    assert right["accuracy_before_check"] == 1.0
    # the first is kept, the second refused
    assert right["accuracy_after_check"] == 0.5 and right["right_answers_refused"] == 0.5
    assert kinds["wrong answer"]["accuracy_after_check"] == 0.0
    assert kinds["wrong answer"]["recall"] == 1.0  # Canada is in no passage
