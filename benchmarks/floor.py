"""How close the answer path is to the bare LLM (the floor), and what the judge costs.

For each news-dev question (a small index: the questions' gold articles and some others, built
once in var/bench-floor/), on one llama.cpp server (the bundled model, as `make run` serves it):

1. the pipeline as shipped (retrieval, trimming, evidence, conflicts, the answer stream checked
   sentence by sentence, the judge as QA_JUDGE / QA_JUDGE_PROMPT say): seconds from the question
   to its first checked sentence, and to the whole answer; the exact messages it sent the LLM
   are recorded;
2. the bare server: those exact messages streamed again, split into sentences the way the
   pipeline splits them (`SentenceStream`: a sentence is complete once the next has begun, or
   the stream has ended): seconds to the first complete sentence;
3. the pipeline without the judge (`QA_JUDGE=off`): the whole answer;
4. the pipeline with the other judge prompt (`quote` when shipped with `continuation`): the
   whole answer.

Before each of them the prompt cache is cleared the same way: one short unrelated request under
the answer's own system message (llama.cpp keeps only the last prompt's state), so every run
finds the system message cached - as a warm server that has just answered another question -
and reads the passages and the question afresh.

floor ratio = (1) first checked sentence / (2) first sentence (goal p50 <= 1.10, p95 <= 1.25);
judge ratio = (1) whole answer / (3) whole answer (goal p50 <= 1.20), and the same for (4).

    python -m benchmarks.floor [--questions 8] [--others 30] [--json var/floor.json]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.answers import local_llm
from benchmarks.evidence import cpu_model
from benchmarks.rates import load, measure
from benchmarks.run import NEWS_DEV, ROOT
from index.embed import MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.load import Document
from index.store import Store, make_client
from qa.checking.answer import SentenceStream
from qa.domain import Filters
from qa.eval.answers import contains_answer
from qa.eval.stats import percentile
from qa.llm.base import LLM, Completion, Message
from qa.llm.openai_chat import OpenAIChat
from qa.logs import configure_logging
from qa.pipeline import Checked, Done, Failed, QAService
from qa.prompt import Prompts
from qa.retrieval.retriever import Retriever
from qa.services import KEYWORD_FILE, build_qa
from qa.settings import JudgePrompt, Settings

FLOOR_GOALS = {"p50": 1.10, "p95": 1.25}
JUDGE_GOAL_P50 = 1.20
WARM_UP = {"question": "What did the minister announce?", "date": None, "answer": ""}


class Recording(LLM):
    """The real LLM client, keeping the messages of the last answer stream and counting the
    judge's calls (`choose`)."""

    def __init__(self, inner: LLM):
        self.inner = inner
        self.model = inner.model
        self.streamed: list[Message] = []
        self.chosen = 0

    async def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        self.streamed = messages
        async for piece in self.inner.stream(messages, max_tokens):
            yield piece

    async def choose(self, messages: list[Message], options: Sequence[str]) -> dict[str, float]:
        self.chosen += 1
        return await self.inner.choose(messages, options)


def build_index(data: Path, questions: list[dict], others: int, embedder: MiniLMEmbedder) -> Index:
    """The questions' gold articles and the first `others` other articles of the corpus,
    written once (an unchanged article is skipped on the next run)."""
    gold = {d for q in questions for d in q["gold_doc_ids"]}
    docs: list[Document] = []
    rest: list[Document] = []
    for line in (NEWS_DEV / "corpus.jsonl").open():
        record = json.loads(line)
        doc = Document(**{k: record[k] for k in ("id", "title", "text", "url", "published")})
        if doc.id in gold:
            docs.append(doc)
        elif len(rest) < others:
            rest.append(doc)
    settings = Settings()
    store = Store(make_client(data / "chroma"), "news")
    ingestor = Ingestor(embedder, store, settings.chunk_tokens, settings.chunk_overlap)
    index = Index(store, ingestor, data / "bm25" / "news" / KEYWORD_FILE)
    index.write(docs + rest)
    return index


async def clear(llm: LLM, system: str) -> None:
    """Replace llama.cpp's cached prompt: the system message stays, nothing else does."""
    await llm.complete(
        [{"role": "system", "content": system}, {"role": "user", "content": "Hi"}], 1
    )


async def pipeline(service: QAService, llm: Recording, q: dict, top_k: int) -> dict:
    llm.chosen = 0
    clock = time.perf_counter()
    first = None
    answer = None
    async for event in service.events(q["question"], top_k, Filters(as_of=q["date"])):
        if isinstance(event, Checked) and first is None:
            first = time.perf_counter() - clock
        elif isinstance(event, Failed):
            raise event.error
        elif isinstance(event, Done):
            answer = event.answer
    total = time.perf_counter() - clock
    assert answer is not None
    return {
        "first_s": first if first is not None else total,
        "total_s": total,
        "judge_calls": llm.chosen,
        "answer": answer.answer,
        "correct": contains_answer(answer.answer, q["answer"]),
        "grounded": answer.grounded,
    }


async def bare(llm: LLM, messages: list[Message], max_tokens: int) -> dict:
    """The exact messages, streamed from the server: the first complete sentence."""
    splitter = SentenceStream()
    clock = time.perf_counter()
    first = None
    async for piece in llm.stream(messages, max_tokens):
        if first is None and splitter.feed(piece.text):
            first = time.perf_counter() - clock
    total = time.perf_counter() - clock
    if first is None and splitter.close():
        first = total
    return {
        "first_s": first if first is not None else total,
        "total_s": total,
        "text": splitter.text,
    }


def ratios(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(percentile(values, 0.5), 3), "p95": round(percentile(values, 0.95), 3)}


async def run(settings: Settings, retriever: Retriever, url: str, questions: list[dict]) -> dict:
    llm = Recording(OpenAIChat(url, "x", settings.llm_model, 600, settings.llm_temperature))
    system = Prompts.load(settings.prompts_dir).system
    other: JudgePrompt = "quote" if settings.judge_prompt == "continuation" else "continuation"
    shipped = build_qa(settings, retriever, llm)  # one evidence ranker, loaded once, for all
    off = copy.copy(shipped)
    off.judge = None
    asking_other = copy.copy(shipped)
    if shipped.judge is not None:
        asking_other.judge = copy.copy(shipped.judge)
        asking_other.judge.prompt = other
    configs = {"shipped": shipped, "judge_off": off, f"judge_{other}": asking_other}
    # warm up (not counted): the embedder, the cross-encoder and spaCy load on first use
    await pipeline(off, llm, WARM_UP, settings.top_k)
    rows = []
    for q in questions:
        row: dict[str, Any] = {"question": q["question"], "load": load()}
        await clear(llm, system)
        row["shipped"] = await pipeline(shipped, llm, q, settings.top_k)
        messages = llm.streamed
        await clear(llm, system)
        row["bare"] = await bare(llm, messages, settings.llm_max_tokens)
        for name in ("judge_off", f"judge_{other}"):
            await clear(llm, system)
            row[name] = await pipeline(configs[name], llm, q, settings.top_k)
        print(json.dumps(row), flush=True)
        rows.append(row)
    await llm.inner.aclose()
    floor = [r["shipped"]["first_s"] / r["bare"]["first_s"] for r in rows]
    floor_off = [r["judge_off"]["first_s"] / r["bare"]["first_s"] for r in rows]
    judge = [r["shipped"]["total_s"] / r["judge_off"]["total_s"] for r in rows]
    judge_other = [r[f"judge_{other}"]["total_s"] / r["judge_off"]["total_s"] for r in rows]
    judged = [r for r in rows if r["shipped"]["judge_calls"]]
    return {
        "questions": len(rows),
        "floor_ratio": ratios(floor),
        "floor_ratio_judge_off": ratios(floor_off),
        "floor_goal": FLOOR_GOALS,
        f"judge_ratio_{settings.judge_prompt}": ratios(judge),
        f"judge_ratio_{other}": ratios(judge_other),
        "judge_goal_p50": JUDGE_GOAL_P50,
        "judged_questions": len(judged),
        f"judge_ratio_{settings.judge_prompt}_judged_only": ratios(
            [r["shipped"]["total_s"] / r["judge_off"]["total_s"] for r in judged]
        ),
        f"judge_ratio_{other}_judged_only": ratios(
            [r[f"judge_{other}"]["total_s"] / r["judge_off"]["total_s"] for r in judged]
        ),
        "bare_first_sentence_s": ratios([r["bare"]["first_s"] for r in rows]),
        "shipped_first_sentence_s": ratios([r["shipped"]["first_s"] for r in rows]),
        "accuracy": {
            name: round(statistics.fmean(float(r[name]["correct"]) for r in rows), 3)
            for name in configs
        },
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8, help="the first N news-dev questions")
    parser.add_argument("--others", type=int, default=30, help="non-gold articles indexed too")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "floor.json")
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = Settings()
    queries = [json.loads(line) for line in (NEWS_DEV / "queries.jsonl").open()]
    questions = queries[: args.questions]
    embedder = MiniLMEmbedder()
    data = ROOT / "var" / "bench-floor"
    index = build_index(data, questions, args.others, embedder)
    retriever = Retriever(embedder, index.store, index)
    report: dict[str, Any] = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_before": load()}
    log = ROOT / "var" / "floor-llm.log"
    with local_llm(ROOT / settings.local_model, log) as client:
        url = str(client.client.base_url)
        report["rates"] = measure(url, log, 2)
        print(json.dumps(report), flush=True)
        report |= asyncio.run(run(settings, retriever, url, questions))
    report["load_after"] = load()
    rows = report.pop("rows")
    print(json.dumps(report, indent=2), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**report, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
