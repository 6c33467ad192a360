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
Each ratio is computed per question, in wall seconds and in CPU seconds (this process, which
runs the pipeline, plus the llama.cpp server's process, from /proc): on shared cores the CPU
time a run costs is much steadier than its wall time, which swings with the neighbours' load.

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
from qa.llm.local import serve_command
from qa.llm.openai_chat import OpenAIChat
from qa.logs import configure_logging
from qa.pipeline import Checked, Done, Failed, QAService
from qa.prompt import Prompts
from qa.retrieval.retriever import Retriever
from qa.services import KEYWORD_FILE, build_qa
from qa.settings import JudgePrompt, Settings
from qa.testing.servers import free_port, subprocess_server

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


class Clock:
    """Wall seconds, and CPU seconds of this process (the pipeline) plus the llama.cpp server's
    process: on shared cores the CPU time a run costs is far steadier than its wall time."""

    def __init__(self, server_pid: int):
        self.stat = Path(f"/proc/{server_pid}/stat")
        self.tick = os.sysconf("SC_CLK_TCK")

    def now(self) -> tuple[float, float]:
        fields = self.stat.read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return time.perf_counter(), time.process_time() + server

    def since(self, start: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = self.now()
        return wall - start[0], cpu - start[1]


def timed(first: tuple[float, float], total: tuple[float, float]) -> dict[str, float]:
    return {
        "first_s": first[0],
        "total_s": total[0],
        "first_cpu_s": first[1],
        "total_cpu_s": total[1],
    }


async def pipeline(service: QAService, llm: Recording, q: dict, top_k: int, clock: Clock) -> dict:
    llm.chosen = 0
    start = clock.now()
    first = None
    answer = None
    async for event in service.events(q["question"], top_k, Filters(as_of=q["date"])):
        if isinstance(event, Checked) and first is None:
            first = clock.since(start)
        elif isinstance(event, Failed):
            raise event.error
        elif isinstance(event, Done):
            answer = event.answer
    total = clock.since(start)
    assert answer is not None
    return {
        **timed(first or total, total),
        "judge_calls": llm.chosen,
        "answer": answer.answer,
        "correct": contains_answer(answer.answer, q["answer"]),
        "grounded": answer.grounded,
    }


async def bare(llm: LLM, messages: list[Message], max_tokens: int, clock: Clock) -> dict:
    """The exact messages, streamed from the server: the first complete sentence."""
    splitter = SentenceStream()
    start = clock.now()
    first = None
    text = ""
    async for piece in llm.stream(messages, max_tokens):
        text += piece.text
        if first is None and splitter.feed(piece.text):
            first = clock.since(start)
    total = clock.since(start)
    return {**timed(first or total, total), "text": text}


def ratios(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(percentile(values, 0.5), 3), "p95": round(percentile(values, 0.95), 3)}


def summary(rows: list[dict], shipped_prompt: str, other: str, unit: str) -> dict[str, Any]:
    """The ratios of one unit of time ("s": wall, "cpu_s": CPU), over every question and over
    those the shipped judge read a sentence of."""

    def of(a: str, b: str, key: str, among: list[dict]) -> dict[str, float | None]:
        return ratios([r[a][f"{key}_{unit}"] / r[b][f"{key}_{unit}"] for r in among])

    judged = [r for r in rows if r["shipped"]["judge_calls"]]
    return {
        "floor_ratio": of("shipped", "bare", "first", rows),
        "floor_ratio_judge_off": of("judge_off", "bare", "first", rows),
        f"judge_ratio_{shipped_prompt}": of("shipped", "judge_off", "total", rows),
        f"judge_ratio_{other}": of(f"judge_{other}", "judge_off", "total", rows),
        f"judge_ratio_{shipped_prompt}_judged_only": of("shipped", "judge_off", "total", judged),
        f"judge_ratio_{other}_judged_only": of(f"judge_{other}", "judge_off", "total", judged),
    }


async def run(
    settings: Settings, retriever: Retriever, url: str, questions: list[dict], clock: Clock
) -> dict:
    llm = Recording(OpenAIChat(url, "x", settings.llm_model, 900, settings.llm_temperature))
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
    await pipeline(off, llm, WARM_UP, settings.top_k, clock)
    rows = []
    for q in questions:
        row: dict[str, Any] = {"question": q["question"], "load": load()}
        await clear(llm, system)
        row["shipped"] = await pipeline(shipped, llm, q, settings.top_k, clock)
        messages = llm.streamed
        await clear(llm, system)
        row["bare"] = await bare(llm, messages, settings.llm_max_tokens, clock)
        for name in ("judge_off", f"judge_{other}"):
            await clear(llm, system)
            row[name] = await pipeline(configs[name], llm, q, settings.top_k, clock)
        print(json.dumps(row), flush=True)
        rows.append(row)
    await llm.inner.aclose()
    return {
        "questions": len(rows),
        "judged_questions": sum(bool(r["shipped"]["judge_calls"]) for r in rows),
        "judge_prompt": settings.judge_prompt,  # the shipped one: its ratio is the goal's
        "floor_goal": FLOOR_GOALS,
        "judge_goal_p50": JUDGE_GOAL_P50,
        "wall": summary(rows, settings.judge_prompt, other, "s"),
        "cpu": summary(rows, settings.judge_prompt, other, "cpu_s"),
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
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = serve_command(ROOT / settings.local_model, port=port)
    with subprocess_server(command, f"{url}/models", 180, log) as server:
        report["rates"] = measure(url, log, 2)
        print(json.dumps(report), flush=True)
        report |= asyncio.run(run(settings, retriever, url, questions, Clock(server.pid)))
    report["load_after"] = load()
    rows = report.pop("rows")
    print(json.dumps(report, indent=2), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**report, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
