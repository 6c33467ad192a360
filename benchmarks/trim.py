"""What passage trimming keeps, without the LLM: for each news-dev question, is the quiz answer
still in the passages the model would read, and how many tokens do they take?

python -m benchmarks.trim [--data var/newsdev] [--budgets 200,320,400] [--top-k 4,6]
                         [--decay 0.06,0.5] [--follow 0,1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from benchmarks.run import NEWS_DEV, ROOT
from index.chunk import count_tokens
from index.embed import MiniLMEmbedder
from index.index import Index
from index.store import Store, make_client
from qa.domain import Filters, Passage
from qa.eval.answers import normalize
from qa.eval.stats import percentile
from qa.prompt import Prompts
from qa.retrieval.retriever import Retriever
from qa.services import KEYWORD_FILE
from qa.trim import Trimmer


def has_answer(passages: list[Passage], answer: str) -> bool:
    expected = normalize(answer)
    text = " ".join(f"{p.title} {p.text}" for p in passages)
    return bool(expected) and f" {expected} " in f" {normalize(text)} "


def prompt_tokens(prompts: Prompts, question: str, passages: list[Passage]) -> int:
    # the user message: the system message before it is the prefix llama.cpp keeps cached
    return count_tokens(prompts.answer_messages(question, passages)[-1]["content"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "newsdev")
    parser.add_argument("--budgets", default="200,320,400")
    parser.add_argument("--top-k", default="4,6")
    parser.add_argument("--decay", default="0.5")
    parser.add_argument("--follow", default="1")
    args = parser.parse_args()
    queries = [json.loads(line) for line in (NEWS_DEV / "queries.jsonl").open()]
    embedder = MiniLMEmbedder()
    store = Store(make_client(args.data / "chroma"), "news")
    retriever = Retriever(
        embedder, store, Index(store, None, args.data / "bm25" / "news" / KEYWORD_FILE)
    )
    prompts = Prompts.load()
    system = count_tokens(prompts.answer_messages("", [])[0]["content"])
    rows: dict[str, list[tuple[bool, int, float]]] = {}
    for q in queries:
        for k in (int(x) for x in args.top_k.split(",")):
            passages = retriever.search(q["question"], k, Filters(as_of=q["date"]))
            full = prompt_tokens(prompts, q["question"], passages)
            rows.setdefault(f"full k={k}", []).append((has_answer(passages, q["answer"]), full, 0))
            for decay, follow, budget in itertools.product(
                [float(x) for x in args.decay.split(",")],
                [x == "1" for x in args.follow.split(",")],
                [int(x) for x in args.budgets.split(",")],
            ):
                trimmer = Trimmer(budget, rank_decay=decay, follow=follow)
                clock = time.perf_counter()
                kept = trimmer.trim(q["question"], passages)
                ms = (time.perf_counter() - clock) * 1000
                row = (
                    has_answer(kept, q["answer"]),
                    prompt_tokens(prompts, q["question"], kept),
                    ms,
                )
                name = f"k={k} decay={decay} follow={follow} budget={budget}"
                rows.setdefault(name, []).append(row)
    print(f"system prompt (the cached prefix): {system} tokens; below, the user message")
    print("| setting | answer in passages | prompt tokens p50 | p95 | trim ms p50 |")
    print("|---|---|---|---|---|")
    for name, values in rows.items():
        kept_share = sum(v[0] for v in values) / len(values)
        tokens = sorted(v[1] for v in values)
        print(
            f"| {name} | {kept_share:.3f} | {percentile(tokens, 0.5):.0f} | "
            f"{percentile(tokens, 0.95)} | {percentile((v[2] for v in values), 0.5):.0f} |"
        )


if __name__ == "__main__":
    main()
