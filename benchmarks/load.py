"""Load run (part of `make bench`): `qa serve` in its own process, the fake OpenAI-compatible LLM
in another, and HTTP clients here.

1. Throughput: 16 concurrent clients ask >= 1,000 questions (the sample questions, as of their
   dates) on the sample articles; errors and latency p50/p95/p99.
2. A noisy neighbour: one client (from 127.0.0.2) floods /ask with 16 connections while another
   (127.0.0.1) asks one question at a time; the quiet client's p50 alone, beside the flood
   without a rate limit, and beside it with `QA_RATE_LIMIT`.

Prints one JSON object and writes it to var/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from qa.eval.stats import percentile
from qa.testing.servers import free_port, subprocess_server

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "data" / "eval" / "sample-questions.jsonl"
FAKE_LLM = (
    "import sys, uvicorn; from qa.testing.llm_server import FakeLLM, create_fake_llm_app; "
    "uvicorn.run(create_fake_llm_app(FakeLLM()), host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='warning')"
)


@contextlib.contextmanager
def service(work: Path, rate_limit: str) -> Iterator[str]:
    """The fake LLM and `qa serve` on the sample articles; yields the API's base URL."""
    llm_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QA_DATA_DIR": str(work / "data"),
        "QA_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
        "QA_LLM_MODEL": "fake-model",
        "QA_LLM_CONCURRENCY": "32",  # the fake answers at once: the queue is not what is measured
        "QA_LLM_QUEUE": "64",
        "QA_RATE_LIMIT": rate_limit,
        "QA_LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "qa.cli.main", "ingest", "--quiet", str(ROOT / "data" / "sample")],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    llm = [sys.executable, "-c", FAKE_LLM, str(llm_port)]
    api = [sys.executable, "-m", "qa.cli.main", "serve", "--port", str(api_port)]
    with (
        subprocess_server(
            llm, f"http://127.0.0.1:{llm_port}/v1/models", 180, work / "llm.log", env, ROOT
        ),
        subprocess_server(
            api, f"http://127.0.0.1:{api_port}/healthz", 180, work / "api.log", env, ROOT
        ),
    ):
        yield f"http://127.0.0.1:{api_port}"


def percentiles(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        return {}
    return {
        f"p{int(share * 100)}_ms": round(percentile(latencies, share) * 1000, 1)
        for share in (0.5, 0.95, 0.99)
    }


def client(url: str, source: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=url, timeout=120, transport=transport)


async def ask(http: httpx.AsyncClient, question: dict[str, Any]) -> tuple[int, float, bool]:
    start = time.perf_counter()
    reply = await http.post(
        "/ask", json={"question": question["question"], "as_of": question["date"]}
    )
    elapsed = time.perf_counter() - start
    answered = reply.status_code == 200 and bool(reply.json().get("answer"))
    return reply.status_code, elapsed, answered


async def throughput(url: str, questions: list[dict], total: int, concurrency: int) -> dict:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    unanswered = 0
    next_index = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal next_index, unanswered
        while next_index < total:
            question = questions[next_index % len(questions)]
            next_index += 1
            status, elapsed, answered = await ask(http, question)
            statuses[status] += 1
            latencies.append(elapsed)
            unanswered += not answered

    async with client(url) as http:
        await ask(http, questions[0])  # warm up
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return {
        "clients": concurrency,
        "questions": total,
        "errors": total - statuses[200] + unanswered,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(seconds, 1),
        "questions_per_s": round(total / seconds, 1),
        **percentiles(latencies),
    }


async def quiet_client(url: str, questions: list[dict], count: int) -> list[float]:
    latencies = []
    async with client(url) as http:
        for question in questions[:count]:
            status, elapsed, _ = await ask(http, question)
            assert status == 200, status
            latencies.append(elapsed)
    return latencies


async def beside_flood(url: str, questions: list[dict], count: int) -> dict:
    stop = asyncio.Event()
    flood: Counter[int] = Counter()

    async def noisy(http: httpx.AsyncClient) -> None:
        i = 0
        while not stop.is_set():
            status, _, _ = await ask(http, questions[i % len(questions)])
            flood[status] += 1
            i += 1

    async with client(url, source="127.0.0.2") as http:
        flooders = [asyncio.create_task(noisy(http)) for _ in range(16)]
        while sum(flood.values()) < 100:  # the flood is under way (and past any burst)
            await asyncio.sleep(0.1)
        latencies = await quiet_client(url, questions, count)
        stop.set()
        await asyncio.gather(*flooders)
    return {
        "quiet_p50_ms": percentiles(latencies)["p50_ms"],
        "quiet_p95_ms": percentiles(latencies)["p95_ms"],
        "flood_statuses": {str(k): v for k, v in sorted(flood.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--quiet", type=int, default=30, help="questions of the quiet client")
    parser.add_argument("--rate-limit", default="60/minute")
    args = parser.parse_args()
    questions = [json.loads(line) for line in QUESTIONS.open()]
    report: dict[str, Any] = {"machine_cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        with service(Path(tmp) / "open", "off") as url:
            report["load"] = asyncio.run(throughput(url, questions, args.questions, args.clients))
            alone = asyncio.run(quiet_client(url, questions, args.quiet))
            report["neighbour"] = {"alone_p50_ms": percentiles(alone)["p50_ms"]}
            report["neighbour"]["flood_no_limit"] = asyncio.run(
                beside_flood(url, questions, args.quiet)
            )
        with service(Path(tmp) / "limited", args.rate_limit) as url:
            limited = asyncio.run(beside_flood(url, questions, args.quiet))
            report["neighbour"][f"flood_rate_limit_{args.rate_limit}"] = limited
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "load.json").write_text(text)
    failures = report["load"]["errors"]
    if failures:
        raise SystemExit(f"{failures} of {args.questions} questions failed")


if __name__ == "__main__":
    main()
