"""FaithBench-style grounding sets (`qa eval --grounding samples.jsonl`): LLM summaries of news
passages with human-marked hallucinations. Each row: `source` (the only passage), `summary`,
`label` (1 = hallucinated), `sentences` [{text, label}]. The check reads each labelled sentence
as a claim cited to the source, so the rates below are per gold sentence; a summary counts as
flagged when the check grounds none of it ("not grounded") or rejects any of it ("any").
The data is the dataset's (its license applies); nothing of it is copied into the product."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from qa.checking.answer import ParsedSentence, check_sentence
from qa.domain import Passage
from qa.eval.stats import percentile


def is_summary_set(path: Path) -> bool:
    """A summaries file (rather than a claims file): its first row has `summary` and `sentences`."""
    with path.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "{}")
    row = json.loads(first)
    return "summary" in row and "sentences" in row


def load_summaries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def rates(flags: list[bool], labels: list[bool]) -> dict[str, float | None]:
    """Recall on the positives (hallucinated), false alarms on the negatives, balanced accuracy,
    and precision / F1 of the hallucinated class."""
    pos = [f for f, y in zip(flags, labels, strict=True) if y]
    neg = [f for f, y in zip(flags, labels, strict=True) if not y]
    recall = sum(pos) / len(pos) if pos else None
    false_alarms = sum(neg) / len(neg) if neg else None
    flagged = sum(flags)
    precision = sum(pos) / flagged if flagged else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall and precision + recall
        else None
    )
    balanced = (
        (recall + 1 - false_alarms) / 2 if recall is not None and false_alarms is not None else None
    )
    return {
        "recall": _round(recall),
        "false_alarms": _round(false_alarms),
        "balanced_accuracy": _round(balanced),
        "precision": _round(precision),
        "f1": _round(f1),
    }


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def source_passage(row: dict[str, Any]) -> Passage:
    """A summary's source as the one passage its sentences are checked against."""
    return Passage(
        n=1,
        doc_id=str(row.get("id", "source")),
        chunk_id="0",
        title="",
        start=0,
        end=len(row["source"]),
        score=1.0,
        text=row["source"],
    )


def evaluate_summaries(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sentence_flags: list[bool] = []
    sentence_labels: list[bool] = []
    not_grounded: list[bool] = []
    any_unsupported: list[bool] = []
    sample_labels: list[bool] = []
    reasons: Counter[str] = Counter()  # on consistent sentences: what the false alarms say
    timings: list[float] = []
    for row in rows:
        passage = source_passage(row)
        verdicts = []
        for gold in row["sentences"]:
            clock = time.perf_counter()
            checked = check_sentence(ParsedSentence(gold["text"].strip(), (1,)), [passage])
            timings.append((time.perf_counter() - clock) * 1000)
            verdicts.append(checked.supported)
            sentence_flags.append(not checked.supported)
            sentence_labels.append(bool(gold["label"]))
            if not checked.supported and not gold["label"] and checked.reason:
                reasons[" ".join(checked.reason.split()[:1])] += 1
        not_grounded.append(not any(verdicts))
        any_unsupported.append(not all(verdicts))
        sample_labels.append(bool(row["label"]))
    return {
        "samples": len(rows),
        "sentences": len(sentence_flags),
        "sentence_level": rates(sentence_flags, sentence_labels),
        "sample_level_not_grounded": rates(not_grounded, sample_labels),
        "sample_level_any_unsupported": rates(any_unsupported, sample_labels),
        "false_alarm_reasons": dict(reasons.most_common(8)),
        "ms_per_sentence_p50": round(percentile(timings, 0.5), 2) if timings else None,
        "ms_per_sentence_p95": round(percentile(timings, 0.95), 2) if timings else None,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"{results['samples']} summaries, {results['sentences']} sentences; "
        f"{results['ms_per_sentence_p50']} ms per sentence (p50), {results['ms_per_sentence_p95']} p95",
        "",
        "| level | hallucinated flagged (recall) | consistent flagged (false alarms) | balanced accuracy | F1 |",
        "|---|---|---|---|---|",
    ]
    for level in ("sentence_level", "sample_level_not_grounded", "sample_level_any_unsupported"):
        r = results[level]
        lines.append(
            f"| {level.replace('_', ' ')} | {r['recall']} | {r['false_alarms']} | "
            f"{r['balanced_accuracy']} | {r['f1']} |"
        )
    top = ", ".join(f"{k} {v}" for k, v in results["false_alarm_reasons"].items())
    lines.append(f"\nfalse alarms on consistent sentences, by reason: {top}")
    return "\n".join(lines)
