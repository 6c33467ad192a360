"""`qa eval`: retrieval and answer quality on a question set, against the ingested corpus.

Retrieval is scored at the article level (an article counts once; copies of one wire story share
a rank). Answers use SQuAD normalisation for exact match and token F1."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
import statistics
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from qa.domain import Filters
from qa.eval.stats import percentile
from qa.pipeline import AnswerFailed, QAService
from qa.retrieval.retriever import Retriever
from qa.settings import RetrievalMode

CUTOFFS = (1, 5, 10)


class EvalQuestion(BaseModel):
    question: str = Field(min_length=1)
    answer: str | None = None
    gold_doc_ids: list[str] = Field(default_factory=list)
    date: dt.date | None = None  # asked on this day: passed to retrieval as `as_of`


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate_json(line))
        except ValidationError as error:
            raise ValueError(f"{path}:{number}: {error.errors()[0]['msg']}") from error
    if not questions:
        raise ValueError(f"{path}: no questions")
    return questions


# --- answer metrics (SQuAD) ------------------------------------------------------------------
def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = set(string.punctuation) | set("“”‘’—–")


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def token_f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(gold).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def contains_answer(prediction: str, gold: str) -> float:
    expected = normalize(gold)
    return float(bool(expected) and f" {expected} " in f" {normalize(prediction)} ")


# --- retrieval metrics -----------------------------------------------------------------------
def retrieval_scores(ranked: list[set[str]], gold: set[str]) -> dict[str, float]:
    """`ranked`: per rank, the article ids it stands for (an article and its copies)."""
    hits = [bool(ids & gold) for ids in ranked[:10]]
    scores = {}
    for k in CUTOFFS:
        found = set().union(*ranked[:k]) & gold if ranked else set()
        scores[f"recall@{k}"] = len(found) / len(gold)
    first = next((i for i, hit in enumerate(hits) if hit), None)
    scores["mrr@10"] = 0.0 if first is None else 1.0 / (first + 1)
    # copies sharing a rank take consecutive positions, so two gold copies at rank 1 score 1.0
    flat = [doc_id for ids in ranked for doc_id in sorted(ids)][:10]
    dcg = sum(1.0 / math.log2(i + 2) for i, doc_id in enumerate(flat) if doc_id in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), 10)))
    scores["ndcg@10"] = dcg / ideal
    return scores


def _mean(rows: Iterable[dict[str, float]], key: str) -> float | None:
    """None when no row has the figure (JSON null: strict readers reject NaN)."""
    values = [row[key] for row in rows if key in row]
    return round(statistics.fmean(values), 3) if values else None


def evaluate_retrieval(
    retriever: Retriever, questions: list[EvalQuestion], mode: RetrievalMode
) -> dict[str, Any]:
    rows, latencies = [], []
    for q in questions:
        if not q.gold_doc_ids:
            continue
        clock = time.perf_counter()
        # the scores read the first 10 ranks only
        articles = retriever.rank_articles(q.question, Filters(as_of=q.date), mode, max(CUTOFFS))
        latencies.append((time.perf_counter() - clock) * 1000)
        ranked = [{a.doc_id, *(c.doc_id for c in a.copies)} for a in articles]
        rows.append(retrieval_scores(ranked, set(q.gold_doc_ids)))
    if not rows:  # no gold articles given: only answers can be scored
        return {"questions": 0}
    keys = [*(f"recall@{k}" for k in CUTOFFS), "mrr@10", "ndcg@10"]
    return {
        "questions": len(rows),
        **{key: _mean(rows, key) for key in keys},
        "latency_ms_p50": round(percentile(latencies, 0.5), 1),
        "latency_ms_p95": round(percentile(latencies, 0.95), 1),
    }


async def evaluate_answers(
    service: QAService,
    questions: list[EvalQuestion],
    top_k: int,
) -> dict[str, Any]:
    rows, latencies, failures = [], [], 0
    for q in questions:
        clock = time.perf_counter()
        try:
            answer = await service.ask(q.question, top_k, Filters(as_of=q.date))
        except AnswerFailed:
            failures += 1
            continue
        latencies.append(time.perf_counter() - clock)
        row: dict[str, float] = {"grounded": float(answer.grounded)}
        if q.answer:
            row |= {
                "exact_match": exact_match(answer.answer, q.answer),
                "token_f1": token_f1(answer.answer, q.answer),
                "answer_accuracy": contains_answer(answer.answer, q.answer),
            }
        cited = [c.doc_id for c in answer.citations]
        if q.gold_doc_ids and cited:
            row["citation_precision"] = sum(d in q.gold_doc_ids for d in cited) / len(cited)
        rows.append(row)
    keys = ["exact_match", "token_f1", "answer_accuracy", "citation_precision", "grounded"]
    return {
        "questions": len(rows),
        "llm_failures": failures,
        **{key: _mean(rows, key) for key in keys},
        "latency_s_p50": round(percentile(latencies, 0.5), 2) if latencies else None,
        "latency_s_p95": round(percentile(latencies, 0.95), 2) if latencies else None,
    }


def run_eval(
    retriever: Retriever,
    questions: list[EvalQuestion],
    modes: list[RetrievalMode],
    service_for: Callable[[RetrievalMode], QAService] | None = None,
    top_k: int = 4,
) -> dict[str, Any]:
    """One result per mode; answers only when `service_for` builds a QA service for a mode."""
    results: dict[str, Any] = {}
    for mode in modes:
        result: dict[str, Any] = {"retrieval": evaluate_retrieval(retriever, questions, mode)}
        if service_for is not None:
            result["answers"] = asyncio.run(evaluate_answers(service_for(mode), questions, top_k))
        results[mode] = result
    return results


def markdown_table(results: dict[str, Any]) -> str:
    columns = [("retrieval", k) for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")]
    columns += [("retrieval", "latency_ms_p50"), ("retrieval", "latency_ms_p95")]
    if any("answers" in r for r in results.values()):
        columns += [
            ("answers", k)
            for k in ("exact_match", "token_f1", "answer_accuracy", "citation_precision")
        ]
        columns += [("answers", k) for k in ("grounded", "latency_s_p50", "latency_s_p95")]
    lines = [
        "| mode | " + " | ".join(name for _, name in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for mode, result in results.items():
        cells = [_cell(result.get(part, {}).get(name)) for part, name in columns]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1 else str(value)


def to_json(results: dict[str, Any]) -> str:
    """Strict JSON: a figure that could not be measured is null, never NaN."""
    return json.dumps(results, indent=2, allow_nan=False)


def write_report(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(results))


# --- multiple-choice questions -----------------------------------------------------------------
_FILLER = {"a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "by", "with", "at"}


def _content_words(text: str) -> list[str]:
    return [w for w in normalize(text).split() if w not in _FILLER]


def named_choice(prediction: str, choices: list[str]) -> str | None:
    """The choice an answer names: the one whose words it holds the largest share of (whole
    words, SQuAD normalisation, filler words not counted), at least half of them; None when no
    choice reaches that or two tie ("Europe" in "Europe and Asia" names neither)."""
    said = set(normalize(prediction).split())
    shares = []
    for choice in choices:
        words = _content_words(choice) or normalize(choice).split()
        if words:
            shares.append((sum(w in said for w in words) / len(words), choice))
    best = max((share for share, _ in shares), default=0.0)
    named = [choice for share, choice in shares if share == best]
    return named[0] if best >= 0.5 and len(named) == 1 else None


def choice_correct(prediction: str, choices: list[str], gold: str) -> float:
    """1.0 when the answer names the gold choice (see `named_choice`)."""
    named = named_choice(prediction, choices)
    return float(named is not None and normalize(named) == normalize(gold))
