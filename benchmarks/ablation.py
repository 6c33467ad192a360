"""What each rule of the claim check catches: disable it alone and re-score every set.

    python -m benchmarks.ablation            # writes var/ablation.json, prints markdown tables

For each rule (qa/checking/rules.py `RULES`) and each measurement set, the flags that disappear
when that rule alone is left out are the ones only it raises: split into true catches (on
hallucinated / unsupported items) and false alarms (on consistent / supported ones), with the
set's false-alarm rate, recall and balanced accuracy without the rule. The judge is off: these
are the word rules alone.

Sets (each is skipped when its file is missing):
- FaithBench-dev (../shared/eval/faithbench-dev/samples.jsonl): each gold sentence checked
  against its source, as `qa eval --grounding` reads a summaries file; also the sample-level
  balanced accuracy ("any sentence unsupported").
- the claims files of `qa eval --grounding` (data/eval/grounding/*-claims.jsonl and
  *-answers.jsonl): one item per row, flagged when the check grounds nothing of it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.checking.answer import ParsedSentence, assemble, parse_answer, rules_check
from qa.checking.rules import RULE_NAMES
from qa.domain import CheckRequest, Passage
from qa.eval.faithbench import load_summaries, rates, source_passage
from qa.eval.grounding import load_claims

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
FAITHBENCH = SHARED / "faithbench-dev" / "samples.jsonl"
CORPUS = SHARED / "news-dev" / "corpus.jsonl"
GROUNDING = ROOT / "data" / "eval" / "grounding"
OUT = ROOT / "var" / "ablation.json"


@dataclass(frozen=True)
class Item:
    """One checked unit: a FaithBench sentence or a claims-file row. `positive`: hallucinated /
    unsupported (what the check should flag); `group`: the FaithBench summary it belongs to, and
    `group_positive` its label (hallucinated)."""

    check: Callable[[frozenset[str]], bool]  # disabled rules -> flagged
    positive: bool
    group: str | None = None
    group_positive: bool = False


class _Sentence:
    def __init__(self, text: str, passage: Passage):
        self.parsed = ParsedSentence(text, (1,))
        self.passage = passage

    def __call__(self, disabled: frozenset[str]) -> bool:
        return not rules_check(self.parsed, [self.passage], disabled=disabled).supported


class _Row:
    def __init__(self, request: CheckRequest):
        self.answer = request.answer
        self.question = request.question
        self.passages = request.as_passages()

    def __call__(self, disabled: frozenset[str]) -> bool:
        checked = [
            rules_check(p, self.passages, self.question, disabled=disabled)
            for p in parse_answer(self.answer)
        ]
        return not assemble(checked, self.passages).grounded


def faithbench_items(path: Path) -> list[Item]:
    items = []
    for row in load_summaries(path):
        passage = source_passage(row)
        for gold in row["sentences"]:
            sentence = _Sentence(gold["text"].strip(), passage)
            items.append(Item(sentence, bool(gold["label"]), str(row["id"]), bool(row["label"])))
    return items


def claim_items(path: Path, corpus: Path | None) -> list[Item]:
    items = []
    for row in load_claims(path, corpus):
        request = CheckRequest.model_validate(
            {k: row[k] for k in ("answer", "passages", "question") if k in row}
        )
        items.append(Item(_Row(request), not row["supported"]))
    return items


def load_sets(faithbench: Path, grounding: Path, corpus: Path) -> dict[str, list[Item]]:
    sets: dict[str, list[Item]] = {}
    if faithbench.exists():
        sets["faithbench-dev"] = faithbench_items(faithbench)
    files = sorted(grounding.glob("*-claims.jsonl")) + sorted(grounding.glob("*-answers.jsonl"))
    for path in files:
        with path.open(encoding="utf-8") as lines:
            first = json.loads(next(lines))
        by_reference = any("text" not in p for p in first["passages"])
        if by_reference and not corpus.exists():
            continue
        sets[path.stem] = claim_items(path, corpus if by_reference else None)
    return sets


_SETS: dict[str, list[Item]] = {}


def _init(faithbench: Path, grounding: Path, corpus: Path) -> None:
    _SETS.update(load_sets(faithbench, grounding, corpus))


def _flags(job: tuple[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...], list[bool], float]:
    name, disabled = job
    clock = time.perf_counter()
    flags = [item.check(frozenset(disabled)) for item in _SETS[name]]
    return name, disabled, flags, time.perf_counter() - clock


def _samples(items: list[Item], flags: list[bool]) -> tuple[list[bool], list[bool]]:
    """FaithBench's sample level as `qa eval` reads it: a summary is flagged when any of its
    sentences is ("any sentence unsupported"), against the summary's own label."""
    flagged: dict[str, bool] = {}
    positive: dict[str, bool] = {}
    for item, flag in zip(items, flags, strict=True):
        if item.group is None:
            return [], []
        flagged[item.group] = flagged.get(item.group, False) or flag
        positive[item.group] = item.group_positive
    return list(flagged.values()), [positive[g] for g in flagged]


_FIGURES = ("recall", "false_alarms", "balanced_accuracy")


def score(items: list[Item], flags: list[bool], base: list[bool] | None) -> dict[str, Any]:
    positives = [i.positive for i in items]
    # the sentence-level figures of `qa eval --grounding`, computed the same way
    row: dict[str, Any] = {k: v for k, v in rates(flags, positives).items() if k in _FIGURES}
    sample_flags, sample_positives = _samples(items, flags)
    if sample_flags:
        row["sample_balanced_accuracy"] = rates(sample_flags, sample_positives)["balanced_accuracy"]
    if base is not None:  # the flags only this rule raises (gone without it), and any it hides
        gone = [b and not f for b, f in zip(base, flags, strict=True)]
        added = [f and not b for b, f in zip(base, flags, strict=True)]
        row["caught"] = sum(g for g, y in zip(gone, positives, strict=True) if y)
        row["false_alarms_caused"] = sum(g for g, y in zip(gone, positives, strict=True) if not y)
        row["flags_added_without_it"] = sum(added)
    return row


def run(sets: dict[str, list[Item]], jobs: int, init: tuple[Path, Path, Path]) -> dict[str, Any]:
    names = list(RULE_NAMES)
    work = [(s, ()) for s in sets] + [(s, (n,)) for s in sets for n in names]
    results: dict[tuple[str, tuple[str, ...]], list[bool]] = {}
    seconds: dict[str, float] = {}
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=init) as pool:
            done = list(pool.map(_flags, work))
    else:
        _SETS.update(sets)
        done = [_flags(job) for job in work]
    for name, disabled, flags, took in done:
        results[(name, disabled)] = flags
        if not disabled:
            seconds[name] = took
    report: dict[str, Any] = {}
    for name, items in sets.items():
        base = results[(name, ())]
        report[name] = {
            "items": len(items),
            "positives": sum(i.positive for i in items),
            "ms_per_item_all_rules": round(seconds[name] * 1000 / len(items), 2),
            "all_rules": score(items, base, None),
            "without": {n: score(items, results[(name, (n,))], base) for n in names},
        }
    return report


def markdown(report: dict[str, Any]) -> str:
    out = []
    for name, data in report["sets"].items():
        base = data["all_rules"]
        sample = "sample BA" if "sample_balanced_accuracy" in base else ""
        out += [
            f"**{name}** ({data['items']} items, {data['positives']} hallucinated/unsupported; "
            f"all rules: false alarms {base['false_alarms']}, recall {base['recall']}, "
            f"BA {base['balanced_accuracy']}"
            + (f", sample BA {base['sample_balanced_accuracy']}" if sample else "")
            + ")",
            "",
            "| rule | caught (hallucinated/unsupported) | false alarms (consistent/supported) "
            "| flags added without it | without it: false alarms | recall | BA |"
            + (f" {sample} |" if sample else ""),
            "|---|---|---|---|---|---|---|" + ("---|" if sample else ""),
        ]
        for rule, row in data["without"].items():
            out.append(
                f"| {rule} | {row['caught']} | {row['false_alarms_caused']} | "
                f"{row['flags_added_without_it']} | {row['false_alarms']} | {row['recall']} | "
                f"{row['balanced_accuracy']} |"
                + (f" {row['sample_balanced_accuracy']} |" if sample else "")
            )
        out.append("")
    out.append(f"{report['seconds']} s in all ({report['jobs']} processes)")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ablation")
    parser.add_argument("--faithbench", type=Path, default=FAITHBENCH)
    parser.add_argument("--grounding", type=Path, default=GROUNDING, help="claims files folder")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="for sets citing articles")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    clock = time.perf_counter()
    init = (args.faithbench, args.grounding, args.corpus)
    sets = load_sets(*init)
    report = {
        "rules": list(RULE_NAMES),
        "sets": run(sets, args.jobs, init),
        "jobs": args.jobs,
    }
    report["seconds"] = round(time.perf_counter() - clock, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
