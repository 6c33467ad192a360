"""The speed goals of one `make bench` run on one page: what each benchmark wrote to var/,
against its goal, under the token rates the machine read and wrote at (`make bench` runs this
last, so the lines come from one run; a benchmark that did not run says so).

    python -m benchmarks.summary [--var var]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.run import ROOT


def _read(var: Path, name: str) -> dict[str, Any] | None:
    path = var / name
    return json.loads(path.read_text()) if path.is_file() else None


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def lines(var: Path) -> list[str]:
    """Markdown: the machine, then one row per goal (measured, goal)."""
    rates, evidence = _read(var, "rates.json"), _read(var, "evidence.json")
    floor, frameworks = _read(var, "floor.json"), _read(var, "llamaindex.json")
    out = []
    if rates:
        shipped = rates.get("as_shipped", {})
        out.append(
            f"Machine: {rates.get('cpu')}, {rates.get('cpus')} CPUs; llama.cpp read "
            f"{_cell(shipped.get('prompt_tokens_per_s'))} prompt tokens/s and wrote "
            f"{_cell(shipped.get('generation_tokens_per_s'))}/s "
            f"(load {rates.get('load_before')} before)."
        )
    else:
        out.append("Machine: benchmarks/rates.py did not run.")
    out += ["", "| goal | measured | target |", "|---|---|---|"]

    def row(goal: str, measured: Any, target: str) -> None:
        out.append(f"| {goal} | {_cell(measured)} | {target} |")

    missing = "not run"
    if evidence:
        first = evidence["runs"][0]
        row(f"evidence event p50 / p95 ms ({first['ranker']}, {evidence['index']['articles']} articles)",
            f"{first['evidence_p50_ms']} / {first['evidence_p95_ms']}", "≤ 500 / ≤ 1000")  # fmt: skip
        row(
            "quote hit@1 / hit@2 (gold answer string)",
            f"{first['hit@1']} / {first['hit@2']}",
            "reported",
        )
    else:
        row("evidence event (benchmarks/evidence.py)", missing, "≤ 500 / ≤ 1000 ms")
    if floor:
        for unit in ("cpu", "wall"):
            s = floor[unit]
            judge = s[f"judge_ratio_{floor.get('judge_prompt', 'quote')}"]
            row(f"floor ratio p50 / p95 ({unit} seconds, {floor['questions']} questions)",
                f"{s['floor_ratio']['p50']} / {s['floor_ratio']['p95']}", "≤ 1.10 / ≤ 1.25")  # fmt: skip
            row(f"judge ratio p50 ({unit} seconds)", judge["p50"], "≤ 1.20")
    else:
        row("floor and judge ratios (benchmarks/floor.py)", missing, "≤ 1.10 / 1.25; ≤ 1.20")
    if frameworks:
        r = frameworks["ratios"]
        row("prompt tokens ÷ LlamaIndex's (p50)", r["prompt_tokens_vs_llamaindex"], "≤ 0.5")
        row("accuracy (choice) − LlamaIndex's", r["accuracy_choice_minus_llamaindex"], "≥ 0")
        row(
            "model's raw answers ÷ gold-paragraph answers (choice)",
            r["raw_vs_gold_choice"],
            "≥ 0.97",
        )
        row("first token ÷ LlamaIndex's (p50)", r["first_token_vs_llamaindex"], "reported")
    else:
        row(
            "LlamaIndex comparison (benchmarks/llamaindex.py)", missing, "≤ 0.5× tokens, ≥ accuracy"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", type=Path, default=ROOT / "var")
    args = parser.parse_args()
    print("\n".join(lines(args.var)), flush=True)


if __name__ == "__main__":
    main()
