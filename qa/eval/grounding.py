"""The claims harness of `qa eval --grounding`: the claim check scored on labelled claims.

A claims file has one /check request per line plus its label: `{"answer", "passages",
"question"?, "supported": bool, "kind"?}`. A passage gives its `text`, or `id` + `start`/`end`
into an article of a corpus JSONL (`--corpus`), so a set built on articles that may not be
copied can still be shared."""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qa.checking.judge import Judge
from qa.checking.service import check_request
from qa.domain import CheckRequest
from qa.eval.answers import choice_correct, contains_answer
from qa.eval.stats import percentile


def load_claims(path: Path, corpus: Path | None = None) -> list[dict[str, Any]]:
    """Claim rows with every passage's text filled in (from `corpus` where it is a reference)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if any("text" not in p for row in rows for p in row["passages"]):
        if corpus is None:
            raise ValueError(f"{path}: passages refer to articles by id; pass --corpus")
        texts = {}
        for line in corpus.read_text(encoding="utf-8").splitlines():
            if line.strip():
                article = json.loads(line)
                texts[article["id"]] = article["text"]
        for row in rows:
            for p in row["passages"]:
                if "text" not in p:
                    p["text"] = texts[p["id"]][p["start"] : p["end"]]
                    del p["start"], p["end"]
    return rows


async def evaluate_claims(rows: list[dict[str, Any]], judge: Judge | None = None) -> dict[str, Any]:
    """Per kind of claim: the share the check gets right, the reasons it gives, ms per claim."""
    caught: dict[str, list[bool]] = defaultdict(list)  # per kind: the check said "unsupported"
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[str, bool] = {}
    correct: dict[str, list[bool]] = defaultdict(list)  # rows with a gold answer: still there?
    raw: dict[str, list[bool]] = defaultdict(list)  # ...and there before the check
    timings: list[float] = []
    for number, row in enumerate(rows, start=1):
        try:
            request = CheckRequest.model_validate(
                {k: row[k] for k in ("answer", "passages", "question") if k in row}
            )
        except ValidationError as error:
            raise ValueError(f"claim {number}: {error.errors()[0]['msg']}") from error
        clock = time.perf_counter()
        result = await check_request(request, judge)
        timings.append((time.perf_counter() - clock) * 1000)
        kind = row.get("kind") or ("supported" if row["supported"] else "unsupported")
        labels[kind] = bool(row["supported"])
        caught[kind].append(not result.grounded)
        if row.get("gold_answer"):
            kept = " ".join(s.text for s in result.sentences if s.supported)
            correct[kind].append(still_right(row, kept))
            raw[kind].append(still_right(row, row["answer"]))
        for s in result.sentences:
            if s.reason:
                reasons[kind][s.reason.split(" ")[0]] += 1
    table = {}
    for kind, flags in sorted(caught.items()):
        share = round(sum(flags) / len(flags), 3)
        table[kind] = {
            "claims": len(flags),
            # supported claims: the share wrongly flagged; unsupported ones: the share caught
            ("false_alarms" if labels[kind] else "recall"): share,
            "reasons": dict(reasons[kind]),
        }
        if correct[kind]:  # the answer accuracy that survives the check, and the right answers lost
            table[kind]["accuracy_after_check"] = _share(correct[kind])
            table[kind]["accuracy_before_check"] = _share(raw[kind])
            lost = [not kept for kept, was in zip(correct[kind], raw[kind], strict=True) if was]
            table[kind]["right_answers_refused"] = _share(lost)
    wrong = [f for kind, flags in caught.items() if not labels[kind] for f in flags]
    right = [f for kind, flags in caught.items() if labels[kind] for f in flags]
    return {
        "kinds": table,
        "recall_unsupported": _share(wrong),
        "false_alarms": _share(right),
        "ms_per_claim_p50": round(percentile(timings, 0.5), 2) if timings else None,
        # with the judge most claims take ms and the judged ones a second or more
        "ms_per_claim_mean": round(statistics.fmean(timings), 2) if timings else None,
    }


def still_right(row: dict[str, Any], text: str) -> bool:
    """Does `text` (the answer, or what the check kept of it) give the row's gold answer? With
    the quiz's `choices`, the row's label says whether the answer is right (read by the choice
    it names, or by hand where the scorer cannot read it): what is kept must still name that
    choice when the answer did, or be anything when the answer was read right by hand.
    Without choices, by substring."""
    if not row.get("choices"):
        return bool(contains_answer(text, row["gold_answer"]))
    if not row["supported"] or not text:
        return False
    named = bool(choice_correct(row["answer"], row["choices"], row["gold_answer"]))
    return not named or bool(choice_correct(text, row["choices"], row["gold_answer"]))


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| kind | claims | recall of unsupported | false alarms | accuracy after check | main reasons |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in results["kinds"].items():
        top = sorted(row["reasons"].items(), key=lambda kv: -kv[1])[:3]
        accuracy = row.get("accuracy_after_check", "")
        if accuracy != "":
            accuracy = (
                f"{accuracy} (before {row['accuracy_before_check']}; right answers refused "
                f"{row['right_answers_refused']})"
            )
        lines.append(
            f"| {kind} | {row['claims']} | {row.get('recall', '')} | {row.get('false_alarms', '')}"
            f" | {accuracy} | {', '.join(f'{k} {v}' for k, v in top)} |"
        )
    lines.append(
        f"| **all** | {sum(r['claims'] for r in results['kinds'].values())} | "
        f"{results['recall_unsupported']} | {results['false_alarms']} | | "
        f"{results['ms_per_claim_p50']} ms per claim (p50), {results['ms_per_claim_mean']} mean |"
    )
    return "\n".join(lines)
