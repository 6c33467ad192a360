"""benchmarks/faithbench_judge.py's scoring: the AUC and the rescue policy, on readings made up
so that the right figures are known."""

from benchmarks.faithbench_judge import auc, report


def reading(sample: str, i: int, label: int, supported: bool, yes: float, **kw: object) -> dict:
    return {"id": sample, "i": i, "label": label, "sample_label": kw.get("sample_label", label),
            "supported": supported, "contradicted": kw.get("contradicted", False), "yes": yes}  # fmt: skip


def test_auc_counts_pairs_in_order_and_ties_as_half() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.9], [0.5]) == 0.75
    assert auc([], [0.3]) is None


def test_a_rescue_keeps_the_weak_sentences_the_judge_believes() -> None:
    readings = [
        reading("a", 0, 0, False, 0.97),  # paraphrase the rules refuse: rescued at 0.95
        reading("a", 1, 0, True, 0.2),  # the rules keep it, whatever the judge says
        reading("b", 0, 1, False, 0.6, sample_label=1),  # a weak hallucination: stays flagged
        reading("c", 0, 1, False, 0.99, contradicted=True),  # contradicted: never rescued
    ]
    result = report(readings)
    rules, rescue = result["rules_alone"]["sentence"], result["rescue"][">=0.95"]["sentence"]
    assert (rules["recall"], rules["false_alarms"]) == (1.0, 0.5)
    assert (rescue["recall"], rescue["false_alarms"]) == (1.0, 0.0)
    # at 0.5 the weak hallucination is rescued too
    assert result["rescue"][">=0.5"]["sentence"]["recall"] == 0.5
    # summary "a" is consistent: flagged by the rules (one refused sentence), not after the rescue
    assert result["rules_alone"]["sample_any"]["false_alarms"] == 1.0
    assert result["rescue"][">=0.95"]["sample_any"]["false_alarms"] == 0.0
    weak = result["groups"]["rules weak (refused, not contradicted)"]
    assert (weak["sentences"], weak["hallucinated"], weak["auc_p_no"]) == (2, 1, 1.0)
