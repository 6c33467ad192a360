"""Can the bundled model, as a judge, tell a paraphrase from a hallucination? FaithBench-dev's
gold sentences read by the judge's yes/no prompt (prompts/judge.txt) over the whole source.

The word rules refuse half of FaithBench's consistent sentences, most of them paraphrase ("no
quote carries it": docs/measurements.md). The issue asks for the LLM where the analysis cannot
decide; the cheapest such reading is a *rescue*: a sentence the rules find weak (not
contradicted) is kept when the LLM says the source supports it. This measures whether P(yes)
separates the two classes at all, per group of what the rules said, and scores the policies:

- `rescue >= t`: contradicted sentences stay refused, rules-passed ones stay kept, weak ones are
  kept when P(yes) >= t;
- `judge alone < t`: flagged when P(yes) < t, whatever the rules say.

The source comes first in the prompt and the rows are read source by source, so llama.cpp's
prompt cache serves it and each reading reads only the sentence (FaithBench's dev half has 37
sources, each summarised by 10 LLMs). Readings are appended to `--out` and a run resumes there.
The thresholds are scored on the same sentences (in-sample): a rescue that fails here fails.

    python -m benchmarks.faithbench_judge [--llm URL] [--sentences N] [--out var/faithbench-judge.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scipy.stats import rankdata

from benchmarks.answers import local_llm
from benchmarks.fit_support import FAITHBENCH
from benchmarks.rates import load
from benchmarks.run import ROOT
from qa.checking.answer import ParsedSentence, check_sentence
from qa.eval.faithbench import load_summaries, rates, source_passage
from qa.llm.base import LLM
from qa.prompt import Prompts, neutralised
from qa.settings import Settings

RESCUE = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
ALONE = (0.5, 0.7, 0.8, 0.9, 0.95)
GROUPS = {
    "every sentence": lambda r: True,
    "rules pass": lambda r: r["supported"],
    "rules weak (refused, not contradicted)": lambda r: (
        not r["supported"] and not r["contradicted"]
    ),
    "contradicted": lambda r: r["contradicted"],
}


def auc(positives: list[float], negatives: list[float]) -> float | None:
    """P(a random positive scores above a random negative), ties half (Mann-Whitney)."""
    if not positives or not negatives:
        return None
    ranks = rankdata([*positives, *negatives])
    n = len(positives)
    return round((ranks[:n].sum() - n * (n + 1) / 2) / (n * len(negatives)), 3)


def rescued(r: dict[str, Any], threshold: float) -> bool:
    """Kept under `rescue >= threshold`."""
    if r["contradicted"]:
        return False
    return bool(r["supported"]) or r["yes"] >= threshold


def _sample_rates(readings: list[dict[str, Any]], kept: Any) -> dict[str, float | None]:
    """A summary flagged when any of its sentences is (FaithBench's sample label)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in readings:
        by.setdefault(r["id"], []).append(r)
    flags = [not all(kept(r) for r in rows) for rows in by.values()]
    return rates(flags, [bool(rows[0]["sample_label"]) for rows in by.values()])


def report(readings: list[dict[str, Any]]) -> dict[str, Any]:
    labels = [bool(r["label"]) for r in readings]

    def scored(kept: Any) -> dict[str, Any]:
        return {
            "sentence": rates([not kept(r) for r in readings], labels),
            "sample_any": _sample_rates(readings, kept),
        }

    groups = {}
    for name, member in GROUPS.items():
        rows = [r for r in readings if member(r)]
        hallucinated = [1 - r["yes"] for r in rows if r["label"]]
        consistent = [1 - r["yes"] for r in rows if not r["label"]]
        groups[name] = {
            "sentences": len(rows),
            "hallucinated": len(hallucinated),
            "auc_p_no": auc(hallucinated, consistent),  # 0.5: no signal
        }
    return {
        "sentences": len(readings),
        "summaries": len({r["id"] for r in readings}),
        "groups": groups,
        "rules_alone": scored(lambda r: r["supported"]),
        "rescue": {f">={t}": scored(lambda r, t=t: rescued(r, t)) for t in RESCUE},
        "judge_alone": {f"<{t}": scored(lambda r, t=t: r["yes"] >= t) for t in ALONE},
    }


def sentences(rows: Iterable[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], int, str]]:
    """Every gold sentence, source by source (each source's readings share the cache)."""
    for row in sorted(rows, key=lambda r: r["source"]):
        for i, gold in enumerate(row["sentences"]):
            yield row, i, gold["text"].strip()


async def read_all(llm: LLM, rows: list[dict[str, Any]], out: Path, limit: int | None) -> None:
    prompts = Prompts.load(Settings().prompts_dir)
    done = set()
    if out.exists():
        done = {(r["id"], r["i"]) for r in map(json.loads, out.read_text().splitlines()) if r}
    count = len(done)
    with out.open("a", encoding="utf-8") as f:
        for row, i, claim in sentences(rows):
            if limit is not None and count >= limit:
                return
            if (row["id"], i) in done:
                continue
            checked = check_sentence(ParsedSentence(claim, (1,)), [source_passage(row)])
            text = neutralised(row["source"]).replace('"', "'")
            user = prompts.judge.format(text=text, claim=neutralised(claim))
            clock = time.perf_counter()
            odds = await llm.choose(
                [
                    {"role": "system", "content": prompts.judge_system},
                    {"role": "user", "content": user},
                ],
                ("yes", "no"),
            )
            reading = {
                "id": row["id"],
                "i": i,
                "label": row["sentences"][i]["label"],
                "sample_label": row["label"],
                "supported": checked.supported,
                "contradicted": checked.contradicted,
                "reason": checked.reason,
                "yes": round(odds["yes"], 4),
                "s": round(time.perf_counter() - clock, 2),
            }
            f.write(json.dumps(reading) + "\n")
            f.flush()
            count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=FAITHBENCH)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "faithbench-judge.jsonl")
    parser.add_argument("--sentences", type=int, default=None, help="stop after N readings")
    parser.add_argument("--llm", default=None, help="an OpenAI-compatible URL (default: bundled)")
    parser.add_argument("--report-only", action="store_true", help="score --out as it stands")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = load_summaries(args.samples)
    print(json.dumps({"load_before": load()}), flush=True)
    if not args.report_only:
        if args.llm:
            from qa.llm.openai_chat import OpenAIChat

            asyncio.run(
                read_all(
                    OpenAIChat(args.llm, "x", Settings().llm_model, 600),
                    rows,
                    args.out,
                    args.sentences,
                )
            )
        else:
            settings = Settings()
            with local_llm(
                ROOT / settings.local_model, ROOT / "var" / "faithbench-judge-llm.log"
            ) as llm:
                asyncio.run(read_all(llm, rows, args.out, args.sentences))
    readings = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    result = report(readings) | {"load_after": load()}
    print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
