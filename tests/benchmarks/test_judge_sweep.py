"""The judge benchmark's per-kind reading of its one run at every threshold
(benchmarks/judge.py `refused_by_kind`): an answer is shown when one of its sentences passes
both the rules and the judge, as /check's `grounded`."""

from typing import Any

from benchmarks.judge import refused_by_kind
from qa.checking.answer import CheckedSentence


def _claim(kind: str, sentences: list[tuple[bool, float | None]]) -> dict[str, Any]:
    """Sentences as (the rules pass it, the judge's P(yes) or None when it is not judged)."""
    checked = [CheckedSentence(f"s{i}", [1], ok, None) for i, (ok, _) in enumerate(sentences)]
    readings = [
        {"scopes": ["all", "risky"], "_sentence": c, "quote": {"bare": False, "yes": p}}
        for c, (_, p) in zip(checked, sentences, strict=True)
        if p is not None
    ]
    return {"kind": kind, "supported": kind == "right", "_checked": checked, "readings": readings}


def test_an_answer_is_refused_only_when_no_sentence_passes_rules_and_judge() -> None:
    claims = [
        _claim("right", [(True, 0.9)]),  # kept at every threshold up to 0.9
        _claim("right", [(True, 0.5), (True, None)]),  # its unjudged sentence keeps it shown
        _claim("wrong", [(True, 0.5)]),  # refused once the bar is above 0.5
        _claim("wrong", [(False, None)]),  # the rules refused it: no judge brings it back
    ]
    assert refused_by_kind(claims, "quote", "risky", 0.0) == {"right": 0.0, "wrong": 0.5}
    assert refused_by_kind(claims, "quote", "risky", 0.7) == {"right": 0.0, "wrong": 1.0}
    assert refused_by_kind(claims, "quote", "risky", 0.95) == {"right": 0.5, "wrong": 1.0}
    # a scope that read none of them leaves the rules' verdict
    assert refused_by_kind(claims, "quote", "none", 0.95) == {"right": 0.0, "wrong": 0.5}
