"""Answer speed and accuracy with the bundled local LLM (part of `make bench`).

- `answer_runs`: every question through the answer stream, once per config - whole passages
  without the judge, then as shipped (QA_PASSAGE_BUDGET, QA_JUDGE) - on one warm llama.cpp server: accuracy, seconds to the first
  checked sentence and to the whole answer, and the prompt tokens llama.cpp had to read (its log
  says how many it found in its cache). Each setting runs over all questions before the next, so
  no question is one the server has just seen.
- `first_sentence_v1`: new questions about the sample corpus through a running API's
  OpenAI-compatible stream (`/v1/chat/completions`, real HTTP): seconds to the first content,
  which is the first checked sentence.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openai import OpenAI

from qa.checking.judge import Judge
from qa.domain import Filters
from qa.eval.answers import EvalQuestion, contains_answer
from qa.eval.stats import percentile
from qa.llm.local import MODEL_ALIAS, serve_command
from qa.llm.openai_chat import OpenAIChat
from qa.pipeline import Checked, Done, Failed, QAService
from qa.prompt import Prompts
from qa.retrieval.retriever import Retriever
from qa.settings import JudgeScope
from qa.testing.servers import free_port, subprocess_server
from qa.trim import Trimmer

# llama-cpp-python (verbose) logs how much of a prompt it still had to read after its cache
_REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")

# new questions about data/sample, asked nowhere else in the project
SAMPLE_QUESTIONS = [
    "Which rocket launchers did North Korea send to Russia?",
    "How many North Korean soldiers were seen near the border?",
    "How high did the river rise before Marlow opened its flood barrier?",
    "Why did the Paylark app stop working?",
    "How many dockworkers first walked out at Calderport?",
    "Who won the autumn city marathon?",
    "How much was Greyhaven Chemicals fined?",
    "Where will the carmaker build its battery plant?",
]


@contextmanager
def local_llm(model: Path, log: Path, max_tokens: int = 256) -> Iterator[OpenAIChat]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    with subprocess_server(serve_command(model, port=port), f"{url}/models", 180, log):
        yield OpenAIChat(url, "x", MODEL_ALIAS, 300)


def summary(values: list[float], digits: int = 2) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {
        "p50": round(percentile(values, 0.5), digits),
        "p95": round(percentile(values, 0.95), digits),
    }


async def _one(service: QAService, q: EvalQuestion, top_k: int) -> dict[str, Any]:
    clock = time.perf_counter()
    first = None
    async for event in service.events(q.question, top_k, Filters(as_of=q.date)):
        if isinstance(event, Checked) and first is None:
            first = time.perf_counter() - clock
        if isinstance(event, Failed):
            return {"failed": True}
        if isinstance(event, Done):
            answer = event.answer
    total = time.perf_counter() - clock
    return {
        "first": first if first is not None else total,
        "total": total,
        "accuracy": contains_answer(answer.answer, q.answer or ""),
        "grounded": float(answer.grounded),
    }


async def answer_run(
    service: QAService, questions: list[EvalQuestion], top_k: int, log: Path
) -> dict[str, Any]:
    rows, read = [], []
    for q in questions:
        offset = log.stat().st_size
        row = await _one(service, q, top_k)
        if row.get("failed"):
            continue
        rows.append(row)
        with log.open("rb") as f:
            f.seek(offset)
            read += [int(n) for n in _REMAINING.findall(f.read().decode(errors="replace"))]
    if not rows:  # e.g. the LLM server died: say so instead of a statistics error
        return {"questions": 0, "failures": len(questions)}
    return {
        "questions": len(rows),
        "failures": len(questions) - len(rows),
        "answer_accuracy": round(statistics.fmean(r["accuracy"] for r in rows), 3),
        "grounded": round(statistics.fmean(r["grounded"] for r in rows), 3),
        "first_sentence_s": summary([r["first"] for r in rows]),
        "total_s": summary([r["total"] for r in rows]),
        "prompt_tokens_read": summary([float(n) for n in read], 0),
    }


Config = tuple[int, JudgeScope]  # passage budget (0: whole passages), judge scope


def config_name(config: Config) -> str:
    budget, judge = config
    passages = f"trimmed to {budget} tokens" if budget else "whole passages"
    return f"{passages}, judge {judge}"


def answer_runs(
    retriever: Retriever,
    questions: list[EvalQuestion],
    model: Path,
    configs: list[Config],
    log: Path,
    top_k: int = 4,
    max_tokens: int = 256,
    judge_threshold: float = 0.6,
) -> dict[str, Any]:
    """Each config in turn (passages trimmed to a budget, the judge's scope): same server,
    same questions."""
    with local_llm(model, log) as llm:
        return asyncio.run(
            _runs(llm, retriever, questions, configs, log, top_k, max_tokens, judge_threshold)
        )


async def _runs(
    llm: OpenAIChat,
    retriever: Retriever,
    questions: list[EvalQuestion],
    configs: list[Config],
    log: Path,
    top_k: int,
    max_tokens: int,
    judge_threshold: float,
) -> dict[str, Any]:
    """One event loop for the whole run: the LLM client's connections belong to it."""
    report: dict[str, Any] = {}
    await llm.complete([{"role": "user", "content": "Hello"}], 4)  # warm up
    prompts = Prompts.load()
    for budget, scope in configs:
        trimmer = Trimmer(budget) if budget else None
        judge = Judge(llm, prompts, scope, judge_threshold) if scope != "off" else None
        service = QAService(retriever, llm, prompts, max_tokens, trimmer, judge)
        name = config_name((budget, scope))
        report[name] = await answer_run(service, questions, top_k, log)
        print(name, report[name], flush=True)
    return report


def first_sentence_v1(api_url: str, questions: list[str] = SAMPLE_QUESTIONS) -> dict[str, Any]:
    """Seconds to the first content chunk of `/v1/chat/completions` streams (the first checked
    sentence), and to the end of each stream."""
    client = OpenAI(base_url=f"{api_url}/v1", api_key="x", timeout=300)
    firsts, totals = [], []
    for question in questions:
        clock = time.perf_counter()
        first = None
        stream = client.chat.completions.create(
            model="newsqa", messages=[{"role": "user", "content": question}], stream=True
        )
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - clock
        totals.append(time.perf_counter() - clock)
        firsts.append(first if first is not None else totals[-1])
    return {
        "questions": len(questions),
        "first_sentence_s": summary(firsts),
        "total_s": summary(totals),
    }
