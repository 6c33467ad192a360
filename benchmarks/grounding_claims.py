"""Claims for `qa eval --grounding`, from the model's answers written by `grounding_set generate`.

Supported: a sentence of a correct answer that contains the quiz answer, with the passages the
model saw. Unsupported: copies of it with one fact made wrong - the answer replaced by a wrong
choice the passages never mention (`wrong_choice_unmentioned`) or mention elsewhere
(`wrong_choice_mentioned`), a number changed (`number_changed`), a negation inserted (`negated`),
two names swapped (`roles_swapped`). Unanswerable: every answer to a question whose answer no
remaining article holds (`unanswerable`, for the refusal rate: `grounded` must be false)."""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

from qa.checking.answer import ParsedSentence, parse_answer, with_markers
from qa.checking.tokens import stopwords
from qa.eval.answers import normalize

_AUX = re.compile(
    r"\b(is|are|was|were|will|has|have|had|can|could|would|should|did|does|do|must)\b"
)
_NAME = re.compile(
    r"(?<![\w.])[A-Z][\w'’-]+(?:\s+(?:of\s+|the\s+|d['’])?[A-Z][\w'’-]+|\s+d['’][A-Z][\w-]+)*"
)
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")


def _core(answer: str) -> str:
    return answer.strip().strip("“”\"'‘’.").strip()


def _find(text: str, phrase: str) -> re.Match[str] | None:
    words = [re.escape(w) for w in re.findall(r"\w+(?:[-’']\w+)*", phrase)]
    if not words:
        return None
    return re.search(r"\b" + r"\W+".join(words) + r"\b", text, re.I)


def answer_sentence(reply: str, answer: str) -> ParsedSentence | None:
    """The first sentence that holds the quiz answer."""
    wanted = normalize(_core(answer))
    for parsed in parse_answer(reply):
        if wanted and wanted in normalize(parsed.claim):
            return parsed
    return None


def mutations(
    sentence: str, row: dict[str, Any], passage_text: str, rng: random.Random
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    hit = _find(sentence, _core(row["answer"]))
    if hit:
        wrong = [c for c in row["choices"] if normalize(c) != normalize(row["answer"])]
        haystack = normalize(passage_text)
        for kind, pool in (
            ("wrong_choice_unmentioned", [c for c in wrong if normalize(c) not in haystack]),
            ("wrong_choice_mentioned", [c for c in wrong if normalize(c) in haystack]),
        ):
            if pool:
                choice = _core(rng.choice(pool))
                found.append((kind, sentence[: hit.start()] + choice + sentence[hit.end() :]))
    numbers = list(_NUMBER.finditer(sentence))
    if numbers:
        m = rng.choice(numbers)
        digits = m.group(0)
        i = max(j for j, ch in enumerate(digits) if ch.isdigit())
        changed = digits[:i] + str((int(digits[i]) + rng.randint(1, 8)) % 10) + digits[i + 1 :]
        found.append(("number_changed", sentence[: m.start()] + changed + sentence[m.end() :]))
    aux = _AUX.search(sentence)
    if aux:
        negated = sentence[: aux.end()] + " not" + sentence[aux.end() :]
    else:
        negated = "It is not true that " + sentence[0].lower() + sentence[1:]
    found.append(("negated", negated))
    # two whole names the passages also mention, with words between them: who did what to whom
    spans = [
        m
        for m in _NAME.finditer(sentence)
        if m.group(0) in passage_text and m.group(0).lower() not in stopwords()
    ]
    pairs = [
        (x.group(0), y.group(0))
        for i, x in enumerate(spans)
        for y in spans[i + 1 :]
        if y.start() - x.end() > 3 and x.group(0) not in y.group(0) and y.group(0) not in x.group(0)
    ]
    if pairs:
        a, b = pairs[0]
        swapped = re.sub(
            f"{re.escape(a)}|{re.escape(b)}", lambda m: b if m.group(0) == a else a, sentence
        )
        found.append(("roles_swapped", swapped))
    return found


def _passages(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(p) for p in row["passages"]]


def build(args: argparse.Namespace) -> None:
    from benchmarks.grounding_set import load_articles, load_jsonl

    rows = load_jsonl(args.out / f"{args.name}-generations.jsonl")
    texts = {a["id"]: a["text"] for a in load_articles(args.corpus)}
    rng = random.Random(13)
    claims: list[dict[str, Any]] = []
    unanswerable: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []  # every answer to an answerable question
    for row in rows:
        passages = _passages(row)
        if not passages:  # nothing left to answer from (as of the question's day)
            continue
        base = {"id": row["id"], "question": row["question"], "passages": passages}
        if row["set"] == "unanswerable":
            unanswerable.append(
                {**base, "answer": row["reply"] or ".", "supported": False, "kind": "unanswerable"}
            )
            continue
        answers.append(
            {**base, "answer": row["reply"] or ".", "supported": True, "kind": "answerable",
             "gold_answer": row["answer"]}
        )  # fmt: skip
        parsed = answer_sentence(row["reply"], row["answer"])
        if parsed is None:
            continue
        cited = list(parsed.cited)
        claims.append(
            {**base, "answer": with_markers(parsed.claim, cited), "supported": True, "kind": "supported"}
        )  # fmt: skip
        seen = " ".join(p.get("text") or texts[p["id"]][p["start"] : p["end"]] for p in passages)
        for kind, changed in mutations(
            parsed.claim, row, seen, rng
        ):  # the markers stay as they were
            claims.append(
                {**base, "answer": with_markers(changed, cited), "supported": False, "kind": kind}
            )  # fmt: skip
    for name, items in (("claims", claims), ("answers", answers + unanswerable)):
        write_jsonl(args.out / f"{args.name}-{name}.jsonl", items)
        print(name, len(items))
    kinds: dict[str, int] = {}
    for c in claims:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print(kinds)


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
