"""`qa eval`: retrieval and answer quality on a question set, against the ingested corpus.

Retrieval is scored at the article level (an article counts once; copies of one wire story share
a rank). Answers use SQuAD normalisation for exact match and token F1."""

from __future__ import annotations

import asyncio
import copy
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

from qa.domain import Answer, Filters, Passage
from qa.eval.stats import percentile
from qa.markers import MARKER
from qa.pipeline import AnswerFailed, Delta, Done, Failed, QAService
from qa.retrieval.retriever import Retriever
from qa.settings import RetrievalMode

CUTOFFS = (1, 5, 10)
OnRow = Callable[[dict[str, Any]], None]


class EvalQuestion(BaseModel):
    id: str | None = None
    question: str = Field(min_length=1)
    answer: str | None = None
    choices: list[str] | None = None  # a quiz's options: answers are scored by the one named
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


def model_text(answer: Answer) -> str:
    """What the model wrote: all its sentences, the ones the check refused too (without the
    service's own sentences on conflicts, which it adds after the check)."""
    stated = {_plain(c.stated) for c in answer.conflicts if c.stated}
    return " ".join(s.text for s in answer.sentences if _plain(s.text) not in stated)


def shown_text(answer: Answer) -> str:
    """What the service shows as grounded: the supported sentences ("" when it refused)."""
    if not answer.grounded:
        return ""
    return " ".join(s.text for s in answer.sentences if s.supported)


def _plain(text: str) -> str:
    return normalize(MARKER.sub("", text))


def correct(text: str, q: EvalQuestion) -> float | None:
    """Scored by the choice the text names when the question has choices, else by substring;
    None without a gold answer."""
    if not q.answer:
        return None
    if q.choices:
        return choice_correct(text, q.choices, q.answer)
    return contains_answer(text, q.answer)


def _row(q: EvalQuestion, answer: Answer) -> dict[str, Any]:
    """One question's answer, scored: what the model wrote (`raw`) and what the service shows."""
    raw, shown = model_text(answer), shown_text(answer)
    row: dict[str, Any] = {
        "id": q.id,
        "question": q.question,
        "gold": q.answer,
        "grounded": answer.grounded,
        "raw": raw,
        "shown": shown,
        "sentences": [
            {"text": s.text, "supported": s.supported, "reason": s.reason} for s in answer.sentences
        ],
        "cited_doc_ids": sorted({c.doc_id for c in answer.citations}),
        "passage_doc_ids": list(dict.fromkeys(p.doc_id for p in answer.passages)),
    }
    if q.answer:
        row |= {
            "exact_match": exact_match(answer.answer, q.answer),
            "token_f1": token_f1(answer.answer, q.answer),
            "answer_accuracy": contains_answer(answer.answer, q.answer),
        }
    row |= scores(q, raw, shown)
    cited = [c.doc_id for c in answer.citations]
    if q.gold_doc_ids and cited:
        row["citation_precision"] = sum(d in q.gold_doc_ids for d in cited) / len(cited)
    return row


def scores(q: EvalQuestion, raw: str, shown: str) -> dict[str, Any]:
    """A row's scores of the model's text (`raw`) and the shown one, by substring and (with
    choices) by the choice named; `correct_*` is the one the trust figures read. A row of
    `--rows` can be scored again from its texts."""
    if not q.answer:
        return {}
    row: dict[str, Any] = {
        "substring_raw": contains_answer(raw, q.answer),
        "substring_shown": contains_answer(shown, q.answer),
        "correct_raw": correct(raw, q),
        "correct_shown": correct(shown, q),
    }
    if q.choices:
        row |= {
            "named_raw": named_choice(raw, q.choices),
            "named_shown": named_choice(shown, q.choices),
            "choice_raw": choice_correct(raw, q.choices, q.answer),
            "choice_shown": choice_correct(shown, q.choices, q.answer),
        }
    return row


def trust(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The check against the model's own answers (scored by choice where there are choices,
    else by substring): `correct_refused`, the model was right and the service does not show
    it (refused, or the right sentence dropped); `wrong_shown_grounded`, the model was wrong
    (names a wrong choice or none) and the service still shows an answer as grounded."""
    scored = [r for r in rows if r.get("correct_raw") is not None]
    right = [r for r in scored if r["correct_raw"]]
    wrong = [r for r in scored if not r["correct_raw"]]
    refused = [r for r in right if not r["correct_shown"]]
    passed = [r for r in wrong if r["grounded"]]
    return {
        "model_right": len(right),
        "model_wrong": len(wrong),
        "correct_refused": len(refused),
        "correct_refused_share": _share(len(refused), len(right)),
        "wrong_shown_grounded": len(passed),
        "wrong_shown_grounded_share": _share(len(passed), len(wrong)),
    }


def _share(count: int, total: int) -> float | None:
    return round(count / total, 3) if total else None


async def ask_recording(
    service: QAService, question: str, top_k: int, as_of: dt.date | None
) -> tuple[Answer, str]:
    """The answer, and the text the model wrote with its `[n]` markers (what a row's `raw`,
    its sentences, leaves out): benchmarks/answer_replay.py replays it through the check."""
    written = ""
    async for event in service.events(question, top_k, Filters(as_of=as_of)):
        if isinstance(event, Delta):
            written += event.text
        elif isinstance(event, Done):
            return event.answer, written
        elif isinstance(event, Failed):
            raise event.error
    raise RuntimeError("the answer stream ended without an answer")


async def _asked(service: QAService, q: EvalQuestion, top_k: int) -> dict[str, Any] | None:
    """One question's row, with what the model wrote and the seconds it took (None: the LLM
    failed)."""
    clock = time.perf_counter()
    try:
        answer, written = await ask_recording(service, q.question, top_k, q.date)
    except AnswerFailed:
        return None
    return _row(q, answer) | {"written": written, "seconds": round(time.perf_counter() - clock, 1)}


async def evaluate_answers(
    service: QAService,
    questions: list[EvalQuestion],
    top_k: int,
    on_row: OnRow | None = None,
) -> dict[str, Any]:
    """The answers' scores, and each question's row under `rows` (also given to `on_row` as
    soon as it is answered, so a long run can be watched)."""
    rows: list[dict[str, Any]] = []
    failures = 0
    for q in questions:
        row = await _asked(service, q, top_k)
        if row is None:
            failures += 1
            continue
        rows.append(row)
        if on_row is not None:
            on_row(rows[-1])
    return summarize_answers(rows, failures)


def summarize_answers(rows: list[dict[str, Any]], failures: int = 0) -> dict[str, Any]:
    """The figures of `evaluate_answers` from its rows (also from the rows of a run cut short,
    as `--rows` writes them)."""
    means = [
        "exact_match",
        "token_f1",
        "answer_accuracy",
        "substring_raw",
        "substring_shown",
        "choice_raw",
        "choice_shown",
        "citation_precision",
    ]
    grounded = [{"grounded": float(r["grounded"])} for r in rows]
    latencies = [r["seconds"] for r in rows]
    return {
        "questions": len(rows),
        "llm_failures": failures,
        **{key: _mean(rows, key) for key in means},
        "grounded": _mean(grounded, "grounded"),
        **trust(rows),
        "latency_s_p50": round(percentile(latencies, 0.5), 2) if latencies else None,
        "latency_s_p95": round(percentile(latencies, 0.95), 2) if latencies else None,
        "rows": rows,
    }


# --- the unanswerable set: questions asked without their gold articles ----------------------
def load_corpus(path: Path) -> list[dict[str, Any]]:
    """Articles of a corpus JSONL: id, title, text, published."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def unanswerable(questions: list[EvalQuestion], corpus: list[dict[str, Any]]) -> list[EvalQuestion]:
    """The questions whose answer (whole words, SQuAD normalisation) is in no article but their
    gold ones that they can retrieve (published on or before the day they are asked): asked
    with the gold articles excluded, their answer is not in the index."""
    texts = [
        (a["id"], f" {normalize(a.get('title', '') + ' ' + a['text'])} ", a.get("published"))
        for a in corpus
    ]
    found = []
    for q in questions:
        if not (q.answer and q.gold_doc_ids and normalize(q.answer)):
            continue
        expected, gold = f" {normalize(q.answer)} ", set(q.gold_doc_ids)
        day = q.date.isoformat() if q.date else None
        if not any(
            doc_id not in gold and expected in text and not (day and (published or "")[:10] > day)
            for doc_id, text, published in texts
        ):
            found.append(q)
    return found


class WithoutArticles(Retriever):
    """A retriever that leaves some articles out (`excluded`, set per question): eval only,
    how a question is asked with its gold articles removed from the index. It asks the
    retriever it wraps for more passages (as many as the excluded articles can fill), drops
    theirs, and renumbers the rest, so the LLM never sees them."""

    def __init__(self, inner: Retriever):  # shares its indexes and config
        vars(self).update(vars(inner))
        self.excluded: set[str] = set()

    def search(
        self,
        query: str,
        top_k: int,
        filters: Filters | None = None,
        mode: RetrievalMode | None = None,
        recency_weight: float | None = None,
    ) -> list[Passage]:
        more = top_k + len(self.excluded) * self.config.passages_per_article
        passages = super().search(query, more, filters, mode, recency_weight)
        kept = [p for p in passages if p.doc_id not in self.excluded][:top_k]
        return [p.model_copy(update={"n": i}) for i, p in enumerate(kept, start=1)]


async def evaluate_unanswerable(
    service: QAService,
    questions: list[EvalQuestion],
    top_k: int,
    on_row: OnRow | None = None,
) -> dict[str, Any]:
    """Each question asked with its gold articles excluded from retrieval (pass the questions
    `unanswerable` picks): the share the service refuses (not grounded)."""
    excluding = WithoutArticles(service.retriever)
    without = copy.copy(service)
    without.retriever = excluding
    rows: list[dict[str, Any]] = []
    failures = 0
    for q in questions:
        excluding.excluded = set(q.gold_doc_ids)
        row = await _asked(without, q, top_k)
        if row is None:
            failures += 1
            continue
        row["gold_retrieved"] = bool(set(row["passage_doc_ids"]) & excluding.excluded)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    refused = sum(not r["grounded"] for r in rows)
    return {
        "questions": len(rows),
        "llm_failures": failures,
        "refused": refused,
        "refused_share": _share(refused, len(rows)),
        "gold_retrieved": sum(r["gold_retrieved"] for r in rows),  # 0, or the exclusion leaks
        "rows": rows,
    }


def run_eval(
    retriever: Retriever,
    questions: list[EvalQuestion],
    modes: list[RetrievalMode],
    service_for: Callable[[RetrievalMode], QAService] | None = None,
    top_k: int = 4,
    unanswerable: list[EvalQuestion] | None = None,
    on_row: OnRow | None = None,
) -> dict[str, Any]:
    """One result per mode; answers only when `service_for` builds a QA service for a mode:
    to `questions`, or (when given) to the `unanswerable` ones, asked without their gold
    articles."""
    results: dict[str, Any] = {}
    for mode in modes:
        result: dict[str, Any] = {"retrieval": evaluate_retrieval(retriever, questions, mode)}
        if service_for is not None and unanswerable is not None:
            result["unanswerable"] = asyncio.run(
                evaluate_unanswerable(service_for(mode), unanswerable, top_k, on_row)
            )
        elif service_for is not None:
            result["answers"] = asyncio.run(
                evaluate_answers(service_for(mode), questions, top_k, on_row)
            )
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
        columns += [
            ("answers", k)
            for k in ("substring_raw", "substring_shown", "choice_raw", "choice_shown")
        ]
        columns += [("answers", k) for k in ("correct_refused_share", "wrong_shown_grounded_share")]
        columns += [("answers", k) for k in ("grounded", "latency_s_p50", "latency_s_p95")]
    if any("unanswerable" in r for r in results.values()):
        columns += [("unanswerable", k) for k in ("questions", "refused", "refused_share")]
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


_NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve".split()
_POSSESSIVE = re.compile(r"['’]s\b")


def _choice_words(text: str) -> list[str]:
    """Words as choices are compared: SQuAD normalisation, without the possessive ("Australia's"
    holds "Australia"), numbers up to twelve as digits ("six months" holds "6")."""
    words = normalize(_POSSESSIVE.sub("", text)).split()
    return [str(_NUMBERS.index(w)) if w in _NUMBERS else w for w in words]


def _content_words(text: str) -> list[str]:
    return [w for w in _choice_words(text) if w not in _FILLER]


def named_choice(prediction: str, choices: list[str]) -> str | None:
    """The choice an answer names. Each choice is read by its own words, the content words no
    other choice has ("Squid" of "Squid Game" beside "Game of Thrones"; all of them when it has
    none); the answer names the one it holds the largest share of (whole words, SQuAD
    normalisation), when that share is at least half or the words it holds end the choice in a
    name ("the Dodgers" names "Los Angeles Dodgers", "Boris Johnson" names "UK Prime Minister
    Boris Johnson"). None when no choice qualifies or two tie ("Europe" in "Europe and Asia"
    names neither)."""
    said = set(_choice_words(prediction))
    words = {choice: _content_words(choice) or _choice_words(choice) for choice in choices}
    scored = []
    for choice in choices:
        others = {w for other in choices if other != choice for w in words[other]}
        own = [w for w in words[choice] if w not in others] or words[choice]
        if not own:
            continue
        share = sum(w in said for w in own) / len(own)
        qualifies = share >= 0.5 or (own[-1] in said and own[-1] in _names(choice))
        scored.append((share, qualifies, choice))
    best = max((share for share, _, _ in scored), default=0.0)
    top = [(qualifies, choice) for share, qualifies, choice in scored if share == best]
    return top[0][1] if best > 0 and len(top) == 1 and top[0][0] else None


def _names(text: str) -> set[str]:
    """The capitalised words of a choice, normalised: its names ("Dodgers", "Johnson")."""
    stripped = (word.strip(string.punctuation + "“”‘’") for word in text.split())
    return {w for word in stripped if word[:1].isupper() for w in _choice_words(word)}


def choice_correct(prediction: str, choices: list[str], gold: str) -> float:
    """1.0 when the answer names the gold choice (see `named_choice`)."""
    named = named_choice(prediction, choices)
    return float(named is not None and normalize(named) == normalize(gold))
