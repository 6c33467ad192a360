"""The rule ablation (benchmarks/ablation.py) on a two-row claims file: the flag only one rule
raises is counted as that rule's catch, and disappears without it."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.ablation import load_sets, markdown, run

TEXT = "NBC News reported that some 12,000 North Korean troops have been sent to Russia."


def test_each_rule_left_out_alone_shows_what_only_it_catches(tmp_path: Path) -> None:
    rows = [
        {"answer": "Some 12,000 North Korean troops were sent to Russia [1].", "supported": True},
        {"answer": "Some 12,000 Chinese troops were sent to Russia [1].", "supported": False},
    ]
    lines = [json.dumps({**r, "passages": [{"title": "Troops", "text": TEXT}]}) for r in rows]
    (tmp_path / "tiny-claims.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    init = (tmp_path / "none.jsonl", tmp_path, tmp_path / "none.jsonl")
    report = run(load_sets(*init), 1, init)["tiny-claims"]
    assert report["all_rules"]["recall"] == 1.0 and report["all_rules"]["false_alarms"] == 0.0
    assert report["without"]["name"]["caught"] == 1
    assert report["without"]["name"]["recall"] == 0.0
    assert all(w["caught"] == 0 for n, w in report["without"].items() if n != "name")
    table = markdown({"sets": {"tiny-claims": report}, "seconds": 0.1, "jobs": 1})
    assert "| name | 1 | 0 | 0 | 0.0 | 0.0 | 0.5 |" in table
