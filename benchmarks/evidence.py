"""Evidence first (issue 26 part 1): how soon the `evidence` event arrives and how often its top
quote holds the answer, for each sentence ranker.

Over real HTTP: a warm app (real MiniLM embedder, embedded Chroma, BM25) serving the news-dev
corpus: the whole-corpus index `benchmarks/run.py` keeps in var/newsdev when it is there (all
3,800 articles, ~59k chunks: `make bench` runs this after it), else its gold articles first, then
others, up to --articles (ingested once into var/bench-evidence/ and reused); asked every news-dev question as an SSE stream with
`"mode": "extractive"`, so no LLM runs beside the ranker. Latency: request sent -> `evidence`
event read. Quote hit@k: a top-k quote contains the gold answer (case-insensitive), or the
`choices` entry that is the answer.

    python -m benchmarks.evidence [--articles 600] [--subset] [--limit N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.run import NEWS_DEV, ROOT, load_news_dev
from qa.eval.stats import percentile
from qa.services import build_embedder
from qa.settings import AnswerMode, EvidenceRanking, Settings
from qa.testing.servers import serve_app
from qa.web.app import create_app

WARM_UP = 3  # questions asked first and not counted: the models load, caches fill
INGEST_BATCH = 50


def cpu_model() -> str:
    """The CPU's name as the kernel reports it (figures here only compare on one machine)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


FULL_INDEX = ROOT / "var" / "newsdev"  # benchmarks/run.py's, collection "news"


def settings_for(
    data_dir: Path, ranker: EvidenceRanking, budget: int, mode: AnswerMode = "extractive"
) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        collection="news" if data_dir == FULL_INDEX else "news-dev",
        llm_base_url="http://127.0.0.1:9/v1",  # never called: every question is extractive
        evidence=ranker,
        answer_mode=mode,
        passage_budget=budget,
        rate_limit=None,
        ingest_sync_max=INGEST_BATCH,
        ingest_sync_max_chars=10**9,
        log_level="WARNING",
    )


def ensure_index(data_dir: Path, articles: int) -> dict[str, Any]:
    """Ingest the corpus subset once (the marker file says it is complete)."""
    done = data_dir / "ingested.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    docs, _ = load_news_dev(articles)
    settings = settings_for(data_dir, "off", 0, "generative")
    clock = time.perf_counter()
    chunks = 0
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=600) as client:
        for first in range(0, len(docs), INGEST_BATCH):
            batch = [d.model_dump(mode="json") for d in docs[first : first + INGEST_BATCH]]
            reply = client.post("/documents", json=batch)
            reply.raise_for_status()
            chunks += reply.json()["chunks"]
    report = {
        "articles": len(docs),
        "chunks": chunks,
        "ingest_s": round(time.perf_counter() - clock),
    }
    done.write_text(json.dumps(report))
    return report


def ask(client: httpx.Client, question: dict[str, Any]) -> tuple[float, list[str]]:
    """Seconds from sending the request to reading the `evidence` event, and its quotes."""
    body = {"question": question["question"], "stream": True, "mode": "extractive"}
    if question.get("date"):
        body["as_of"] = question["date"]
    clock = time.perf_counter()
    name = ""
    with client.stream("POST", "/ask", json=body) as reply:
        reply.raise_for_status()
        for line in reply.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "evidence":
                elapsed = time.perf_counter() - clock
                quotes = [q["quote"] for q in json.loads(line.split(":", 1)[1])["quotes"]]
                return elapsed, quotes
            elif name == "done":
                break
    return time.perf_counter() - clock, []  # no passages: no evidence event


def hit(quotes: list[str], question: dict[str, Any]) -> tuple[bool, bool]:
    """(holds the gold answer string, holds the right choice), case-insensitive."""
    text = " ".join(quotes).lower()
    answer = str(question["answer"]).strip().lower()
    stripped = answer.strip("“”\"'‘’ ")
    by_answer = answer in text or (bool(stripped) and stripped in text)
    choices = [str(c).strip("“”\"'‘’ ").lower() for c in question.get("choices") or []]
    right = stripped if stripped in choices else None
    return by_answer, right is not None and right in text


def run(data_dir: Path, ranker: EvidenceRanking, budget: int, questions: list[dict]) -> dict:
    settings = settings_for(data_dir, ranker, budget)
    # one embedder for the app and its ranker (the app would build the same)
    app = create_app(settings, embedder=build_embedder(settings))
    latencies: list[float] = []
    hits = {"hit@1": 0, "hit@2": 0, "choice_hit@1": 0, "choice_hit@2": 0}
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        for q in questions[:WARM_UP]:
            ask(client, q)
        for q in questions:
            elapsed, quotes = ask(client, q)
            latencies.append(elapsed)
            for k in (1, 2):
                by_answer, by_choice = hit(quotes[:k], q)
                hits[f"hit@{k}"] += by_answer
                hits[f"choice_hit@{k}"] += by_choice
    n = len(questions)
    return {
        "ranker": ranker,
        "passage_budget": budget,
        "questions": n,
        "evidence_p50_ms": round(percentile(latencies, 0.5) * 1000),
        "evidence_p95_ms": round(percentile(latencies, 0.95) * 1000),
        **{k: round(v / n, 3) for k, v in hits.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=600, help="news-dev articles indexed")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument(
        "--subset", action="store_true", help="use the --articles index even if var/newsdev exists"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "evidence.json")
    args = parser.parse_args()
    _, questions = load_news_dev(None)
    questions = questions[: args.limit] if args.limit else questions
    if (FULL_INDEX / "chroma").is_dir() and not args.subset:
        data_dir, index = FULL_INDEX, {"articles": 3800, "from": str(FULL_INDEX)}
    else:
        data_dir = ROOT / "var" / "bench-evidence" / f"news-dev-{args.articles}"
        data_dir.mkdir(parents=True, exist_ok=True)
        index = ensure_index(data_dir, args.articles)
    report: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "corpus": str(NEWS_DEV / "corpus.jsonl"),
        "index": index,
        "runs": [],
    }
    print(json.dumps({"cpu": report["cpu"], "index": report["index"]}), flush=True)
    for ranker, budget in (("cross-encoder", 400), ("embedder", 400), ("cross-encoder", 0)):
        result = run(data_dir, ranker, budget, questions)  # type: ignore[arg-type]
        print(json.dumps(result), flush=True)
        report["runs"].append(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
