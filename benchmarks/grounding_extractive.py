"""A news-dev claims set that needs no LLM: the passages' own sentences as answers.

    python -m benchmarks.grounding_extractive   # writes data/eval/grounding/newsdev-extractive-*.jsonl

`benchmarks/grounding_set.py` builds its claims from the bundled model's answers, which take an
hour to generate; when those generations are not at hand this builds the same kinds of claims
from the passages themselves, over the same passages (`answerable_passages`,
`unanswerable_passages`): *supported* is the gold passage's first sentence holding the quiz
answer (cited to its passage), and the unsupported kinds are the same one-fact edits of it
(`grounding_claims.mutations`: a wrong choice unmentioned / mentioned elsewhere, a number
changed, a negation inserted, two names swapped). The answers file holds, per question, the
sentence of the gold passages sharing most of the question's words (answerable, labelled
supported as in the model's answers file) and, for the questions whose answer is in no other
article, the best such sentence of the passages left without the gold articles (unanswerable).

Verbatim sentences are easier than a model's wording: false alarms on these supported claims
come from the answer-level rules (off the question, stale, restates), hardly from the quote
rules. Passages are kept as article offsets, like the model's sets (the articles may not be
copied); `--corpus` reads them back."""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

from benchmarks.grounding_claims import mutations, write_jsonl
from benchmarks.grounding_set import (
    NEWS_DEV,
    OUT,
    ChunkIndex,
    answer_in_other_articles,
    answerable_passages,
    load_articles,
    load_questions,
    passage_ref,
    unanswerable_passages,
)
from index.chunk import split_sentences
from qa.checking.answer import with_markers
from qa.checking.tokens import tokenize
from qa.domain import Passage
from qa.eval.answers import normalize
from qa.settings import Settings


def _sentences(passages: list[Passage]) -> list[tuple[int, str]]:
    return [
        (p.n, p.text[s.start : s.end].strip())
        for p in passages
        for s in split_sentences(p.text)
        if len(p.text[s.start : s.end].strip()) > 20
    ]


def _closest(question: str, passages: list[Passage]) -> tuple[int, str] | None:
    """The sentence sharing most of the question's content words (the first of equals)."""
    asked = {t.stem for t in tokenize(question) if t.content}
    scored = [
        (len(asked & {t.stem for t in tokenize(text) if t.content}), -i, n, text)
        for i, (n, text) in enumerate(_sentences(passages))
    ]
    if not scored:
        return None
    _, _, n, text = max(scored)
    return n, text


def build(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    articles = load_articles(args.corpus)
    questions = load_questions(args.questions)
    index = ChunkIndex(articles, settings)
    normalized = {a["id"]: normalize(f"{a['title']} {a['text']}") for a in articles}
    rng = random.Random(13)
    claims: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    for q in questions:
        passages = answerable_passages(index, q)
        if not passages:
            continue
        refs = [passage_ref(p, False) for p in passages]
        base = {"id": q["id"], "question": q["question"], "passages": refs}
        gold = [p for p in passages if p.doc_id in q["gold_doc_ids"]]
        wanted = normalize(q["answer"].strip("“”\"'‘’. "))
        holding = [(n, s) for n, s in _sentences(gold) if wanted and wanted in normalize(s)]
        if holding:
            n, sentence = holding[0]
            claims.append(
                {**base, "answer": with_markers(sentence, [n]), "supported": True,
                 "kind": "supported"}
            )  # fmt: skip
            seen = " ".join(p.text for p in passages)
            for kind, changed in mutations(sentence, q, seen, rng):
                claims.append(
                    {**base, "answer": with_markers(changed, [n]), "supported": False,
                     "kind": kind}
                )  # fmt: skip
        closest = _closest(q["question"], gold)
        if closest:
            n, sentence = closest
            answers.append(
                {**base, "answer": with_markers(sentence, [n]), "supported": True,
                 "kind": "answerable"}
            )  # fmt: skip
        if not answer_in_other_articles(q, normalized):
            others = unanswerable_passages(index, q)
            closest = _closest(q["question"], others)
            if closest:
                n, sentence = closest
                answers.append(
                    {"id": q["id"], "question": q["question"],
                     "passages": [passage_ref(p, False) for p in others],
                     "answer": with_markers(sentence, [n]), "supported": False,
                     "kind": "unanswerable"}
                )  # fmt: skip
    for name, items in (("claims", claims), ("answers", answers)):
        write_jsonl(args.out / f"{args.name}-{name}.jsonl", items)
        print(name, len(items))
    kinds: dict[str, int] = {}
    for row in claims + answers:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(kinds)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grounding_extractive")
    parser.add_argument("--corpus", type=Path, default=NEWS_DEV / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=NEWS_DEV / "queries.jsonl")
    parser.add_argument("--name", default="newsdev-extractive", help="prefix of the files written")
    parser.add_argument("--out", type=Path, default=OUT)
    build(parser.parse_args())


if __name__ == "__main__":
    main()
