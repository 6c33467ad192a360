"""Benchmarks (run by `make bench`): ingest throughput, retrieval quality on news-dev (the
metrics of `qa eval`, every mode), and answers with the bundled local LLM. Prints one JSON object; writes it to var/bench.json.

The news-dev set lives beside the repository in ../shared/eval/news-dev (not shipped with it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path

from index.embed import MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.load import Document
from index.store import Store, make_client
from qa.evaluate import EvalQuestion, evaluate_answers, markdown_table, run_eval
from qa.llm import OpenAIChat
from qa.localmodel import DEFAULT_PATH, MODEL_ALIAS, serve_command
from qa.logs import configure_logging
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieve import MODES, Retriever
from qa.services import KEYWORD_FILE

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


def bench_answers(retriever: Retriever, questions: list[EvalQuestion], count: int) -> dict:
    from tests.servers import free_port, subprocess_server

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = serve_command(ROOT / DEFAULT_PATH, port=port)
    with (
        tempfile.TemporaryDirectory() as tmp,
        subprocess_server(command, f"{url}/models", 180, Path(tmp) / "llm.log"),
    ):
        llm = OpenAIChat(url, "x", MODEL_ALIAS, 300)
        service = QAService(retriever, llm, Prompts.load())
        return asyncio.run(evaluate_answers(service, questions[:count], 4))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="articles (0 = all 3,800)")
    parser.add_argument("--answers", type=int, default=10, help="questions for the local LLM")
    args = parser.parse_args()
    if not NEWS_DEV.is_dir():
        raise SystemExit(f"news-dev set not found at {NEWS_DEV}")
    configure_logging("WARNING")
    docs, queries = load_news_dev(args.limit or None)
    embedder = MiniLMEmbedder()
    report: dict = {"articles": len(docs)}
    # the index is kept between runs: embedding thousands of articles takes many minutes
    # the whole set shares the index of `QA_DATA_DIR=var/newsdev qa ingest` (see README)
    data = ROOT / "var" / ("newsdev" if len(docs) == 3800 else f"bench-{len(docs)}")
    store = Store(make_client(data / "chroma"), "news")
    index = Index(store, Ingestor(embedder, store, 128, 24), data / "bm25" / "news" / KEYWORD_FILE)
    start = time.perf_counter()
    ingest = index.write(docs)
    seconds = time.perf_counter() - start
    if ingest.chunks:
        report["ingest"] = {
            "seconds": round(seconds, 1),
            "chunks": ingest.chunks,
            "articles_per_s": round(len(ingest.added) / seconds, 2),
            "chunks_per_s": round(ingest.chunks / seconds, 1),
        }
    start = time.perf_counter()
    again = index.write(docs)
    report["reingest_unchanged_s"] = round(time.perf_counter() - start, 2)
    assert len(again.unchanged) == len(docs)
    retriever = Retriever(embedder, store, index)
    present = {d.id for d in docs}
    questions = [
        EvalQuestion(**{k: q[k] for k in ("question", "answer", "gold_doc_ids", "date")})
        for q in queries
        if set(q["gold_doc_ids"]) & present
    ]
    results = run_eval(retriever, questions, list(MODES))
    report["retrieval"] = {mode: r["retrieval"] for mode, r in results.items()}
    print(markdown_table(results), flush=True)
    if args.answers:
        report["answers_local_llm"] = bench_answers(retriever, questions, args.answers)
    report["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "var" / "bench.json").write_text(text)


if __name__ == "__main__":
    main()
