"""benchmarks/summary.py: one page of goals from the files a `make bench` run leaves in var/,
and a plain "not run" for the ones it did not."""

import json
from pathlib import Path

from benchmarks.summary import lines


def write(var: Path, name: str, data: dict) -> None:
    (var / name).write_text(json.dumps(data))


def test_each_goal_is_read_from_its_benchmarks_file(tmp_path: Path) -> None:
    write(tmp_path, "rates.json", {"cpu": "AMD EPYC", "cpus": 2, "load_before": "1.00",
          "as_shipped": {"prompt_tokens_per_s": 35.2, "generation_tokens_per_s": 9.1}})  # fmt: skip
    write(tmp_path, "evidence.json", {"index": {"articles": 200}, "runs": [
        {"ranker": "cross-encoder", "evidence_p50_ms": 310, "evidence_p95_ms": 640,
         "hit@1": 0.45, "hit@2": 0.6}]})  # fmt: skip
    ratios = {"floor_ratio": {"p50": 1.04, "p95": 1.22}, "judge_ratio_quote": {"p50": 1.03},
              "judge_ratio_continuation": {"p50": 1.5}}  # fmt: skip
    write(tmp_path, "floor.json", {"questions": 8, "judge_prompt": "quote", "cpu": ratios,
          "wall": ratios | {"floor_ratio": {"p50": 0.9, "p95": 1.3}}})  # fmt: skip
    page = "\n".join(lines(tmp_path))
    assert "AMD EPYC, 2 CPUs; llama.cpp read 35.2 prompt tokens/s and wrote 9.1/s" in page
    assert "| evidence event p50 / p95 ms (cross-encoder, 200 articles) | 310 / 640 |" in page
    assert "| quote hit@1 / hit@2 (gold answer string) | 0.45 / 0.6 |" in page
    assert "| floor ratio p50 / p95 (wall seconds, 8 questions) | 0.9 / 1.3 |" in page
    assert "| judge ratio p50 (cpu seconds) | 1.03 |" in page, "the shipped prompt's ratio"
    assert "| LlamaIndex comparison (benchmarks/llamaindex.py) | not run |" in page


def test_a_run_with_nothing_in_var_says_what_did_not_run(tmp_path: Path) -> None:
    page = lines(tmp_path)
    assert page[0] == "Machine: benchmarks/rates.py did not run."
    assert sum("not run" in line for line in page[1:]) == 3  # evidence, floor, LlamaIndex
