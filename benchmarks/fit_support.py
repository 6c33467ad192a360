"""Fit the support score's logistic model (qa/checking/support.py) on the dev sets.

    python -m benchmarks.fit_support                       # faithbench-dev, writes the model file
    python -m benchmarks.fit_support --claims data/eval/grounding/newsdev-claims.jsonl \\
        --corpus ../shared/eval/news-dev/corpus.jsonl      # plus a claims set
    python -m benchmarks.fit_support --dry-run             # the cross-validated figures only

Each labelled sentence is checked by the word rules; those the rules neither contradict nor
refuse as no answer are the model's rows (the others score 0 whatever the weights). Labels:
FaithBench's sentence labels (hallucinated = unsupported); a claims set's label for every
sentence of its answer. The fit is an L2-regularised logistic regression with the classes
weighted equally (so 0.5 sits near the balanced cut), by scipy's L-BFGS. Cross-validation is by
group - a FaithBench source with its near-copies (the text without its digits), a claims set's
question - so no fold is scored on a passage it was fitted on. The threshold is the one of a
grid that maximises the cross-validated sentence-level balanced accuracy of the whole check
(contradicted and refused sentences flagged too). The model file records the weights, the
threshold and the cross-validated figures - per sentence and per sample (a summary flagged when
any sentence is) - beside the word rules alone's (supported when they pass a sentence)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from qa.checking.answer import ParsedSentence, parse_answer, rules_check, support_reading
from qa.checking.support import FEATURES, MODEL_FILE
from qa.domain import CheckRequest, Passage
from qa.eval.grounding import load_claims

ROOT = Path(__file__).resolve().parents[1]
FAITHBENCH = ROOT.parent / "shared" / "eval" / "faithbench-dev" / "samples.jsonl"
OUT = ROOT / "qa" / "checking" / "data" / MODEL_FILE
FOLDS = 5
GRID = [round(t, 2) for t in np.arange(0.30, 0.71, 0.02)]


def _row(parsed: ParsedSentence, passages: list[Passage], question: str | None) -> dict[str, Any]:
    checked = rules_check(parsed, passages, question)
    reading = support_reading(parsed, checked, passages, question)
    x = [reading.features.get(f, 0.0) for f in FEATURES]
    return {"kind": reading.kind, "x": x, "rules": checked.supported}


def faithbench_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        sample = json.loads(line)
        source = sample["source"]
        passage = Passage(
            n=1, doc_id="source", chunk_id="0", title="", start=0, end=len(source), score=1.0,
            text=source,
        )  # fmt: skip
        group = "fb:" + re.sub(r"[\d\W]+", "", source)[:200]
        for gold in sample["sentences"]:
            row = _row(ParsedSentence(gold["text"].strip(), (1,)), [passage], None)
            labels = {"y": 1 - int(gold["label"]), "sample_y": 1 - int(sample["label"])}
            rows.append(row | labels | {"group": group, "sample": number, "set": "faithbench"})
    return rows


def claims_rows(path: Path, corpus: Path | None) -> list[dict[str, Any]]:
    rows = []
    for number, claim in enumerate(load_claims(path, corpus)):
        request = CheckRequest.model_validate(
            {k: claim[k] for k in ("answer", "passages", "question") if k in claim}
        )
        passages = request.as_passages()
        group = f"claims:{claim.get('id') or claim.get('question') or number}"
        for parsed in parse_answer(request.answer):
            row = _row(parsed, passages, request.question)
            labels = {"y": int(claim["supported"]), "sample_y": int(claim["supported"])}
            rows.append(row | labels | {"group": group, "sample": group, "set": path.stem})
    return rows


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Weights (bias first) of a class-balanced, L2-regularised logistic regression."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-(design @ b)))
        eps = 1e-12
        value = -(weight * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))).sum()
        value += l2 * float((b[1:] ** 2).sum())
        grad = design.T @ (weight * (p - y))
        grad[1:] += 2 * l2 * b[1:]
        return float(value), grad

    return np.asarray(minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x)


def predict(b: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-(b[0] + x @ b[1:]))))


def rates(flags: np.ndarray, unsupported: np.ndarray) -> dict[str, float]:
    recall = float(flags[unsupported].mean())
    false_alarms = float(flags[~unsupported].mean())
    return {
        "recall": round(recall, 3),
        "false_alarms": round(false_alarms, 3),
        "balanced_accuracy": round((recall + 1 - false_alarms) / 2, 3),
    }


def sample_rates(flags: np.ndarray, rows: list[dict[str, Any]]) -> dict[str, float]:
    """A summary (a claims set's answer) is flagged when any of its sentences is; it is
    unsupported when its own label says so (FaithBench: any sentence hallucinated)."""
    flagged: dict[Any, bool] = {}
    unsupported: dict[Any, bool] = {}
    for flag, row in zip(flags, rows, strict=True):
        key = (row["set"], row["sample"])
        flagged[key] = flagged.get(key, False) or bool(flag)
        unsupported[key] = row["sample_y"] == 0
    keys = sorted(flagged, key=str)
    return rates(np.array([flagged[k] for k in keys]), np.array([unsupported[k] for k in keys]))


def cross_validate(rows: list[dict[str, Any]], l2: float) -> np.ndarray:
    """Out-of-fold scores of every row (0 for contradicted and refused rows)."""
    groups = sorted({r["group"] for r in rows})
    fold_of = {g: i % FOLDS for i, g in enumerate(groups)}
    folds = np.array([fold_of[r["group"]] for r in rows])
    scored = np.array([r["kind"] == "scored" for r in rows])
    x = np.array([r["x"] for r in rows])
    y = np.array([r["y"] for r in rows], dtype=float)
    out = np.zeros(len(rows))
    for k in range(FOLDS):
        train, test = scored & (folds != k), scored & (folds == k)
        if train.any() and test.any():
            out[test] = predict(fit(x[train], y[train], l2), x[test])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faithbench", type=Path, default=FAITHBENCH)
    parser.add_argument("--claims", type=Path, action="append", default=[])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the model")
    args = parser.parse_args()
    rows = faithbench_rows(args.faithbench)
    for path in args.claims:
        rows += claims_rows(path, args.corpus)
    unsupported = np.array([r["y"] == 0 for r in rows])
    out_of_fold = cross_validate(rows, args.l2)
    by_threshold = {t: rates(out_of_fold < t, unsupported) for t in GRID}
    threshold = max(GRID, key=lambda t: (by_threshold[t]["balanced_accuracy"], -abs(t - 0.5)))
    scored = [r for r in rows if r["kind"] == "scored"]
    weights = fit(
        np.array([r["x"] for r in scored]), np.array([r["y"] for r in scored], float), args.l2
    )
    rules_flags = np.array([not r["rules"] for r in rows])
    per_set, per_set_rules, samples, samples_rules = {}, {}, {}, {}
    for name in sorted({r["set"] for r in rows}):
        mask = np.array([r["set"] == name for r in rows])
        in_set = [r for r in rows if r["set"] == name]
        per_set[name] = rates(out_of_fold[mask] < threshold, unsupported[mask])
        per_set_rules[name] = rates(rules_flags[mask], unsupported[mask])
        samples[name] = sample_rates(out_of_fold[mask] < threshold, in_set)
        samples_rules[name] = sample_rates(rules_flags[mask], in_set)
    result = {
        "weights": {"bias": round(float(weights[0]), 4)}
        | {f: round(float(w), 4) for f, w in zip(FEATURES, weights[1:], strict=True)},
        "threshold": threshold,
        "fitted_on": {name: sum(r["set"] == name for r in rows) for name in per_set},
        "rows_scored": len(scored),
        "l2": args.l2,
        "cross_validated": {
            "folds": FOLDS,
            "by": "source or question",
            "sentence_level": per_set,
            "sample_level_any_unsupported": samples,
        },
        # the word rules alone (no model: a sentence is supported when they pass it)
        "rules_alone": {
            "sentence_level": per_set_rules,
            "sample_level_any_unsupported": samples_rules,
        },
        "command": "python -m benchmarks.fit_support",
    }
    print(json.dumps(result, indent=2))
    print("threshold grid (cross-validated, all sets):")
    for t, r in by_threshold.items():
        print(f"  {t:.2f} {r}")
    if not args.dry_run:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
