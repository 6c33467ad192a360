"""The FaithBench-format harness (qa/eval/faithbench.py) on summaries written here: a faithful
paraphrase, a changed number, an invented name, an inserted negation."""

import json
from pathlib import Path

from qa.eval.faithbench import evaluate_summaries, is_summary_set
from tests.utils.support import run_cli

SOURCE = (
    "The Velmora city council approved a budget of $48 million on Tuesday. "
    "Mayor Ilse Varga said the money would repair 12 bridges over three years."
)
SENTENCES = [  # (text, hallucinated)
    ("The Velmora city council approved a $48 million budget on Tuesday.", False),
    ("Mayor Ilse Varga said the money would repair 12 bridges over three years.", False),
    ("The council approved a budget of $58 million.", True),
    ("Governor Tomas Reed praised the plan.", True),
    ("Mayor Ilse Varga said the money would not repair bridges.", True),
]


def rows() -> list[dict[str, object]]:
    def row(i: int, text: str, label: bool) -> dict[str, object]:
        sentence = {"start": 0, "end": len(text), "text": text, "label": int(label)}
        return {"id": f"t/{i}", "label": int(label), "source": SOURCE, "summary": text,
                "sentences": [sentence]}  # fmt: skip

    return [row(i, text, label) for i, (text, label) in enumerate(SENTENCES)]


def test_rates_count_caught_hallucinations_and_false_alarms() -> None:
    results = evaluate_summaries(rows())
    sentences = results["sentence_level"]
    assert sentences["recall"] == 1.0, results  # number, name and negation each caught
    assert sentences["false_alarms"] == 0.0, results  # the paraphrase and the copy pass
    assert sentences["balanced_accuracy"] == 1.0
    assert results["sentences"] == 5 and results["ms_per_sentence_p50"] > 0


def test_qa_eval_grounding_reads_a_summaries_file(tmp_path: Path) -> None:
    path = tmp_path / "summaries.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows()))
    assert is_summary_set(path)
    done = run_cli(["eval", "--grounding", str(path), "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sample_level_any_unsupported"]["recall"] == 1.0
    table = run_cli(["eval", "--grounding", str(path)], tmp_path)
    assert "| sentence level |" in table.stdout
