"""Benchmarks (run by `make bench`): ingest throughput, retrieval quality on news-dev, and
answer latency with the bundled local LLM. Prints one JSON object; writes it to var/bench.json.

The news-dev set lives beside the repository in ../shared/eval/news-dev (not shipped with it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from index.embed import MiniLMEmbedder
from index.ingest import Ingestor
from index.load import Document
from index.store import Store, make_client
from qa.llm import OpenAIChat
from qa.localmodel import DEFAULT_PATH, MODEL_ALIAS, serve_command
from qa.logs import configure_logging
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieve import Retriever

ROOT = Path(__file__).resolve().parent.parent
NEWS_DEV = ROOT.parent / "shared" / "eval" / "news-dev"


def load_news_dev(limit: int | None) -> tuple[list[Document], list[dict]]:
    queries = [json.loads(line) for line in (NEWS_DEV / "queries.jsonl").open()]
    gold = {d for q in queries for d in q["gold_doc_ids"]}
    docs = []
    for line in (NEWS_DEV / "corpus.jsonl").open():
        record = json.loads(line)
        docs.append(Document(**{k: record[k] for k in ("id", "title", "text", "url", "published")}))
    if limit:  # keep every gold article, then fill up with the others
        docs = [d for d in docs if d.id in gold] + [d for d in docs if d.id not in gold]
        docs = docs[:limit]
    return docs, queries


def ranked_docs(retriever: Retriever, mode: str, question: str) -> list[str]:
    """Article ids in rank order, from the hybrid retriever or one of its two halves."""
    if mode == "hybrid":
        return [p.doc_id for p in retriever.search(question, 30)]
    if mode == "vector":
        vector = retriever.embedder.embed([question])[0]
        return [c.doc_id for c in retriever.store.query(vector, 30)]
    return [cid.split(":", 1)[0] for cid, _ in retriever.keyword.search(question, 30)]


def bench_retrieval(
    retriever: Retriever, mode: str, queries: list[dict], present: set[str]
) -> dict:
    ranks, latencies = [], []
    for q in queries:
        if not set(q["gold_doc_ids"]) & present:
            continue
        start = time.perf_counter()
        ranked = ranked_docs(retriever, mode, q["question"])
        latencies.append((time.perf_counter() - start) * 1000)
        docs = list(dict.fromkeys(ranked))
        rank = next((i + 1 for i, d in enumerate(docs) if d in q["gold_doc_ids"]), None)
        ranks.append(rank)
    n = len(ranks)

    def recall(k: int) -> float:
        return round(sum(1 for r in ranks if r and r <= k) / n, 3)

    return {
        "questions": n,
        "gold_doc_recall@1": recall(1),
        "gold_doc_recall@4": recall(4),
        "gold_doc_recall@10": recall(10),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 3),
        "search_ms_p50": round(statistics.median(latencies), 1),
        "search_ms_p95": round(sorted(latencies)[int(0.95 * (n - 1))], 1),
    }


def bench_answers(store: Store, embedder: MiniLMEmbedder, queries: list[dict], count: int) -> dict:
    from tests.servers import free_port, subprocess_server

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    results: list[dict] = []

    async def answer_all(service: QAService) -> None:
        for q in queries[:count]:
            start = time.perf_counter()
            answer = await service.ask(q["question"], 4)
            results.append(
                {
                    "seconds": round(time.perf_counter() - start, 2),
                    "grounded": answer.grounded,
                    "answer_found": q["answer"].strip('“”"').lower() in answer.answer.lower(),
                    **answer.usage,
                }
            )

    command = serve_command(ROOT / DEFAULT_PATH, port=port)
    with (
        tempfile.TemporaryDirectory() as tmp,
        subprocess_server(command, f"{url}/models", 180, Path(tmp) / "llm.log"),
    ):
        llm = OpenAIChat(url, "x", MODEL_ALIAS, 300)
        asyncio.run(answer_all(QAService(Retriever(embedder, store), llm, Prompts.load())))
    return {
        "questions": len(results),
        "seconds_p50": statistics.median(r["seconds"] for r in results),
        "grounded_rate": round(sum(r["grounded"] for r in results) / len(results), 3),
        "answer_string_in_answer_rate": round(
            sum(r["answer_found"] for r in results) / len(results), 3
        ),
        "prompt_tokens_p50": statistics.median(r.get("prompt_tokens", 0) for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=600, help="articles (0 = all 3,800)")
    parser.add_argument("--answers", type=int, default=10, help="questions for the local LLM")
    args = parser.parse_args()
    if not NEWS_DEV.is_dir():
        raise SystemExit(f"news-dev set not found at {NEWS_DEV}")
    configure_logging("WARNING")
    docs, queries = load_news_dev(args.limit or None)
    embedder = MiniLMEmbedder()
    report: dict = {"articles": len(docs)}
    # the index is kept between runs: embedding thousands of articles takes many minutes
    store = Store(make_client(ROOT / "var" / "bench" / f"chroma-{len(docs)}"), "bench")
    ingestor = Ingestor(embedder, store, 128, 24)
    start = time.perf_counter()
    ingest = ingestor.ingest_documents(docs)
    seconds = time.perf_counter() - start
    if ingest.chunks:
        report["ingest"] = {
            "seconds": round(seconds, 1),
            "chunks": ingest.chunks,
            "articles_per_s": round(len(ingest.added) / seconds, 2),
            "chunks_per_s": round(ingest.chunks / seconds, 1),
        }
    start = time.perf_counter()
    again = ingestor.ingest_documents(docs)
    report["reingest_unchanged_s"] = round(time.perf_counter() - start, 2)
    assert len(again.unchanged) == len(docs)
    retriever = Retriever(embedder, store)
    present = {d.id for d in docs}
    report["retrieval"] = {
        mode: bench_retrieval(retriever, mode, queries, present)
        for mode in ("vector", "bm25", "hybrid")
    }
    print(json.dumps(report["retrieval"]), flush=True)
    if args.answers:
        report["answers_local_llm"] = bench_answers(store, embedder, queries, args.answers)
    report["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "var" / "bench.json").write_text(text)


if __name__ == "__main__":
    main()
