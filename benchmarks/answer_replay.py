"""The bundled model's real news-dev answers as a labelled set the check can be scored on in
seconds, without the LLM (issue 25: "add real, not generated, wrong answers").

    python -m benchmarks.answer_replay --data-dir DIR ROWS.jsonl [ROWS.jsonl ...]
        # writes data/eval/grounding/newsdev-model-answers.jsonl
    python -m qa.cli.main eval --grounding data/eval/grounding/newsdev-model-answers.jsonl \\
        --corpus ../shared/eval/news-dev/corpus.jsonl

`qa eval --answers --rows` (and `--unanswerable`) record what the model wrote for each question;
answering them took 75 minutes of the bundled LLM. This replays each recorded answer through the
service (a `ScriptedLLM` gives back the recorded text, the judge is off) over the same index
(`--data-dir`: the one the rows were answered on), to recover the passages the answer was checked
against, and writes one /check request per answer with its label:

- `right answer` (supported): the model's text names the quiz's right choice (`choice_correct`),
  unless a reading by hand says otherwise (`HAND_RIGHT`, `HAND_WRONG`: the scorer misses
  "European Union" for Europe and reads North Korea into "South Korea"); `wrong answer`
  (unsupported): it does not;
- `unanswerable` (unsupported): asked with its gold articles left out of retrieval, and not
  answered right from another article.

Rows record the model's text with its `[n]` markers (`written`); older rows keep only its
sentences without them, so those replayed answers carry none: the check then looks for the
passage that carries each sentence in all of them, as it does when a marker names a passage
that does not carry it. Passages are article offsets, and the file
is not committed (like the other news-dev sets: the model's answers copy article sentences, and
the articles may not be copied into the project); `--corpus` reads the passages back."""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
from pathlib import Path
from typing import Any

from benchmarks.grounding_set import NEWS_DEV, OUT, load_jsonl
from qa.domain import Filters, Passage
from qa.eval.answers import WithoutArticles, choice_correct, load_questions
from qa.services import build_embedder, build_qa, build_retriever, build_store
from qa.settings import Settings
from qa.testing.fakes import ScriptedLLM

# Answers the choice scorer misreads, each read by hand against the quiz's choices and the
# question's date: question id -> the reading. Right in other words (a demonym, a plural, a
# figure rounded as the quiz rounds it, a date that is "next week"):
HAND_RIGHT = {
    "20220617_1": "the European Union: Europe",
    "20220617_8": "as soon as June 21, asked on June 17: next week",
    "20220701_8": "a python: a snake",
    "20220715_0": "a cheaper version with ads: advertisements",
    "20220729_2": "payments restart after August 31: September",
    "20220826_5": "iPhones: iPhone",
    "20220909_3": "late September, asked on September 9: a few weeks",
    "20220909_5": "$405 million: $400 million",
    "20220923_7": "300, 000: 300,000",
    "20221021_5": "the UK: United Kingdom",
    "20230707_8": "the nine-dash line: a map of disputed Chinese territory",
    "20230721_7": "a female lion: a lioness",
    "20230804_3": "DVDs: DVDs and Blu-ray discs",
}
# ...and wrong, where the scorer reads the right choice into another name
HAND_WRONG = {
    "20220812_9": "South Korea, not North Korea",
}


def passage_ref(p: Passage) -> dict[str, Any]:
    # the outlet in the title, as the service's check reads a passage's header
    title = f"{p.title} ({p.source})" if p.source else p.title
    return {
        "id": p.doc_id,
        "title": title,
        "published": p.published,
        "start": p.start,
        "end": p.end,
    }


def label(row: dict[str, Any], q: Any, unanswerable: bool) -> tuple[str, bool, str]:
    """(kind, supported, how the label was read). Asked without its gold articles, an answer
    can still be right from another article (the unanswerable set's test is a string test):
    it is then a right answer."""
    left_out = " (gold articles left out)" if unanswerable else ""
    if row["id"] in HAND_WRONG:
        return "wrong answer", False, f"by hand: {HAND_WRONG[row['id']]}"
    if row["id"] in HAND_RIGHT and not unanswerable:
        return "right answer", True, f"by hand: {HAND_RIGHT[row['id']]}"
    if q.choices and choice_correct(row["raw"], q.choices, q.answer):
        return "right answer", True, f"choice{left_out}"
    if unanswerable:
        return "unanswerable", False, "gold articles left out"
    return "wrong answer", False, "choice"


async def replay(args: argparse.Namespace) -> list[dict[str, Any]]:
    settings = Settings(_env_file=None, data_dir=args.data_dir, judge="off")  # type: ignore[call-arg]
    questions = {q.id: q for q in load_questions(args.questions)}
    texts = {a["id"]: a["text"] for a in load_jsonl(args.corpus)}
    retriever = build_retriever(settings, build_embedder(settings), build_store(settings))
    out: list[dict[str, Any]] = []
    for path in args.rows:
        for row in load_jsonl(path):
            q = questions[row["id"]]
            unanswerable = "gold_retrieved" in row
            searched = retriever
            if unanswerable:
                searched = WithoutArticles(retriever)
                searched.excluded = set(q.gold_doc_ids)
            text = row.get("written") or row["raw"]  # with its markers, where the row has them
            service = build_qa(settings, copy.copy(searched), ScriptedLLM([text]))
            answer = await service.ask(q.question, args.k or settings.top_k, Filters(as_of=q.date))
            ids = list(dict.fromkeys(p.doc_id for p in answer.passages))
            if ids != row["passage_doc_ids"]:  # not the articles it was answered from: left out
                print(
                    f"{row['id']}: skipped, retrieved {ids}, the row has {row['passage_doc_ids']}"
                )
                continue
            for p in answer.passages:  # the service's passages read line breaks as spaces
                if re.sub(r"\s", " ", texts[p.doc_id][p.start : p.end]) != re.sub(
                    r"\s", " ", p.text
                ):
                    raise SystemExit(
                        f"{row['id']}: passage {p.n} is not article text at its offsets"
                    )
            kind, supported, read = label(row, q, unanswerable)
            out.append(
                {
                    "id": row["id"],
                    "kind": kind,
                    "supported": supported,
                    "label": read,
                    "question": q.question,
                    "answer": text,
                    "gold_answer": q.answer,
                    "choices": q.choices,
                    "passages": [passage_ref(p) for p in answer.passages],
                    # what the service showed when it was answered (judge on), for comparison
                    "grounded_when_answered": row["grounded"],
                }
            )
            print(row["id"], kind, "grounded" if answer.grounded else "refused")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.answer_replay")
    parser.add_argument("rows", type=Path, nargs="+", help="`qa eval --answers --rows` files")
    parser.add_argument("--data-dir", type=Path, required=True, help="the index answered on")
    parser.add_argument("--corpus", type=Path, default=NEWS_DEV / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=NEWS_DEV / "queries.jsonl")
    parser.add_argument("--k", type=int, help="passages per question (default: QA_TOP_K's)")
    parser.add_argument("--out", type=Path, default=OUT / "newsdev-model-answers.jsonl")
    args = parser.parse_args()
    rows = asyncio.run(replay(args))
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} answers -> {args.out}")


if __name__ == "__main__":
    main()
