"""How well the conflict detector (qa/news/conflicts.py) tells conflicting reports, without the LLM.

Self-made set (benchmarks/data/conflicts.jsonl: pairs of short articles written for this, half
giving different figures for one thing, half agreeing or counting different things):

    python -m benchmarks.conflicts

The detector over what retrieval gives the model for news-dev questions (the questions' gold
articles plus, for each question, the corpus articles sharing most words with it, ingested into a
fresh index with the real embedder); the conflicts it claims are written to --out to read:

    python -m benchmarks.conflicts --news-dev 50 --out var/conflicts-newsdev.json  # index: --data

How often the answer reports both sides, through the whole pipeline (the pair ingested alone, the
question "How many/much <about> ...?" written in the set, the LLM at --llm, the claim check):

    python -m benchmarks.conflicts --llm http://127.0.0.1:8081/v1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import NEWS_DEV, ROOT
from index.embed import MiniLMEmbedder
from index.load import Document
from qa.domain import Filters, Passage
from qa.news.conflicts import detect, nlp
from qa.news.dated import asks_for_latest
from qa.services import (
    build_embedder,
    build_index,
    build_llm,
    build_qa,
    build_retriever,
    build_store,
)
from qa.settings import Settings

SET = ROOT / "benchmarks" / "data" / "conflicts.jsonl"
_WORD = re.compile(r"[a-z]{4,}")


def pair_passages(case: dict[str, Any]) -> list[Passage]:
    return [
        Passage(
            n=i,
            doc_id=f"{case['id']}-{i}",
            chunk_id=f"{case['id']}-{i}-0",
            title=a["title"],
            source=a["source"],
            published=a["published"],
            start=0,
            end=len(a["text"]),
            score=0.0,
            text=a["text"],
        )
        for i, a in enumerate(case["articles"], start=1)
    ]


def self_made(path: Path) -> None:
    """Per split: "dev" is the set the rules were tuned on, "held-out" was written after and
    run once; both are the author's own sentences, so easier than real reports."""
    cases = [json.loads(line) for line in path.open()]
    nlp()  # loaded once, outside the timing
    for split in dict.fromkeys(c["split"] for c in cases):
        mine = [c for c in cases if c["split"] == split]
        missed, alarms = [], []
        clock = time.perf_counter()
        for case in mine:
            found = detect(pair_passages(case))
            if case["conflict"] and not found:
                missed.append(case["id"])
            if not case["conflict"] and found:
                alarms.append(f"{case['id']} ({found[0].about})")
        ms = (time.perf_counter() - clock) * 1000 / len(mine)
        conflicting = sum(c["conflict"] for c in mine)
        agreeing = len(mine) - conflicting
        detected = conflicting - len(missed)
        print(f"{split}: {conflicting} conflicting pairs, {agreeing} agreeing or different")
        print(f"  detected: {detected}/{conflicting} = {detected / conflicting:.3f}")
        print(f"  false conflicts: {len(alarms)}/{agreeing} = {len(alarms) / agreeing:.3f}")
        print(f"  missed: {', '.join(missed) or '-'}")
        print(f"  false alarms: {', '.join(alarms) or '-'}")
        print(f"  {ms:.1f} ms per pair (spaCy parse + compare)")


def neighbours(question: str, corpus: list[dict[str, Any]], k: int) -> list[str]:
    """The k corpus articles sharing most (4+ letter) words with the question."""
    words = set(_WORD.findall(question.lower()))
    scored = sorted(
        corpus,
        key=lambda d: -len(words & set(_WORD.findall(f"{d['title']} {d['text'][:1500]}".lower()))),
    )
    return [d["id"] for d in scored[:k]]


def news_dev(limit: int, top_k: int, near: int, data: Path, out: Path | None) -> None:
    """The conflicts the detector claims over what retrieval gives for the first `limit`
    questions; also whether the recency boost of "latest" questions keeps their gold article in
    the top `top_k` (this index is a small slice of the corpus, so an easy ranking)."""
    queries = [json.loads(line) for line in (NEWS_DEV / "queries.jsonl").open()][:limit]
    corpus = [json.loads(line) for line in (NEWS_DEV / "corpus.jsonl").open()]
    by_id = {d["id"]: d for d in corpus}
    wanted = {i for q in queries for i in q["gold_doc_ids"]}
    for q in queries:
        wanted |= set(neighbours(q["question"], corpus, near))
    docs = [Document(**{k: v for k, v in by_id[i].items() if k in Document.model_fields})
            for i in sorted(wanted) if i in by_id]  # fmt: skip
    settings = Settings(_env_file=None, data_dir=data, collection="news")  # type: ignore[call-arg]
    embedder = MiniLMEmbedder()
    store = build_store(settings)
    index = build_index(settings, embedder, store)
    clock = time.perf_counter()
    index.write(docs)  # unchanged articles are skipped: a second run reuses the index
    print(f"indexed {len(docs)} articles in {time.perf_counter() - clock:.0f} s")
    retriever = build_retriever(settings, embedder, store, index)
    claimed: list[dict[str, Any]] = []
    seconds = 0.0
    gold = {False: 0, True: 0}  # gold article retrieved, without / with the boost
    latest = [q for q in queries if asks_for_latest(q["question"])]
    for q in queries:
        scope = Filters(as_of=q["date"])
        boost = settings.recency_boost if asks_for_latest(q["question"]) else None
        passages = retriever.search(q["question"], top_k, scope, None, boost)
        clock = time.perf_counter()
        found = detect(passages)
        seconds += time.perf_counter() - clock
        claimed += [
            {"question": q["question"], **c.model_dump(exclude={"reported"})} for c in found
        ]
        if boost is not None:
            plain = retriever.search(q["question"], top_k, scope)
            for boosted, got in ((False, plain), (True, passages)):
                gold[boosted] += bool({p.doc_id for p in got} & set(q["gold_doc_ids"]))
    asked = len(queries)
    with_any = len({c["question"] for c in claimed})
    print(f"news-dev first {asked} questions, top_k={top_k}: {len(claimed)} conflicts claimed "
          f"on {with_any} questions; detection {seconds * 1000 / asked:.0f} ms per question")  # fmt: skip
    print(f"latest questions: {len(latest)}; gold article in the top {top_k}: "
          f"{gold[False]} without the boost, {gold[True]} with it")  # fmt: skip
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(claimed, indent=1, ensure_ascii=False))
        print(f"written to {out}")


def with_llm(path: Path, url: str) -> None:
    cases = [json.loads(line) for line in path.open() if json.loads(line)["conflict"]]
    clock = time.perf_counter()
    rows = asyncio.run(ask_pairs(cases, url))  # one event loop for the LLM client
    seconds = time.perf_counter() - clock
    detected = [r for r in rows if r[1]]
    told = [r for r in detected if r[2]]
    stated = [r for r in detected if r[3]]
    print(
        f"{len(cases)} conflicting pairs through the pipeline ({seconds / len(cases):.1f} s each)"
    )
    print(
        f"  detected: {len(detected)}/{len(cases)}; the model's answer reports both: "
        f"{len(told)}/{len(detected)}; the service states both for it: {len(stated)}/{len(detected)}"
    )
    for case_id, hit, reported, added, text in rows:
        print(f"  {case_id}: detected={hit} reported={reported} stated={added} | {text}")


async def ask_pairs(
    cases: list[dict[str, Any]], url: str
) -> list[tuple[str, bool, bool | None, bool, str]]:
    rows: list[tuple[str, bool, bool | None, bool, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), llm_base_url=url, judge="off")  # type: ignore[call-arg]
        embedder = build_embedder(settings)
        llm = build_llm(settings)
        for case in cases:  # each pair alone in its own collection and keyword index
            alone = settings.model_copy(update={"collection": case["id"]})
            store = build_store(alone)
            index = build_index(alone, embedder, store)
            articles = case["articles"]
            index.write([Document(id=f"{case['id']}-{i}", **a) for i, a in enumerate(articles)])
            qa = build_qa(alone, build_retriever(alone, embedder, store, index), llm)
            answer = await qa.ask(case["question"], 4)
            found = answer.conflicts[0] if answer.conflicts else None
            reported = found.reported if found else None
            added = bool(found and found.stated)
            rows.append((case["id"], found is not None, reported, added, answer.answer))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--news-dev", type=int, default=0, help="questions of news-dev to run")
    parser.add_argument("--top-k", type=int, default=4)
    parser.add_argument("--near", type=int, default=5, help="neighbour articles per question")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "conflicts-newsdev")
    parser.add_argument("--llm", help="an OpenAI-compatible URL: measure reported (slow)")
    args = parser.parse_args()
    if args.llm:
        with_llm(args.set, args.llm)
    elif args.news_dev:
        news_dev(args.news_dev, args.top_k, args.near, args.data, args.out)
    else:
        self_made(args.set)


if __name__ == "__main__":
    main()
