"""Benchmarks (run by `make bench`): ingest throughput, retrieval quality on news-dev (the
metrics of `qa eval`, every mode), and answers with the bundled local LLM. Prints one JSON object; writes it to var/bench.json.

The news-dev set lives beside the repository in ../shared/eval/news-dev (not shipped with it).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.answers import Config, answer_runs, config_name, first_sentence_v1, local_llm
from index.chunk import chunk_text
from index.embed import MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.load import Document
from index.store import Store, make_client
from qa.eval.answers import EvalQuestion, markdown_table, run_eval
from qa.logs import configure_logging
from qa.retrieval.retriever import Retriever
from qa.services import KEYWORD_FILE
from qa.settings import JUDGE_SCOPES, RETRIEVAL_MODES, Settings
from qa.testing.servers import serve_app

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


def ingest_ratio(docs: list[Document], settings: Settings, embedder: MiniLMEmbedder) -> dict:
    """Ingest chunks/s into a fresh store ÷ raw onnxruntime embedding of the same chunks/s:
    what chunking, Chroma and the keyword index cost on top of the model."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(make_client(Path(tmp) / "chroma"), "ratio")
        ingestor = Ingestor(embedder, store, settings.chunk_tokens, settings.chunk_overlap)
        index = Index(store, ingestor, Path(tmp) / KEYWORD_FILE)
        clock = time.perf_counter()
        chunks = index.write(docs).chunks
        ingest_s = time.perf_counter() - clock
    texts = [
        c.text
        for d in docs
        for c in chunk_text(d.id, d.text, settings.chunk_tokens, settings.chunk_overlap)
    ]
    clock = time.perf_counter()
    embedder.embed(texts)
    embed_s = time.perf_counter() - clock
    return {
        "articles": len(docs),
        "chunks": chunks,
        "ingest_chunks_per_s": round(chunks / ingest_s, 1),
        "embed_chunks_per_s": round(len(texts) / embed_s, 1),
        "ratio": round((chunks / ingest_s) / (len(texts) / embed_s), 2),
    }


def sample_api_first_sentence(settings: Settings, model: Path, log: Path) -> dict:
    """New questions on the sample corpus through the API's /v1 stream, on a warm server."""
    from qa.services import build_index, build_store
    from qa.web.app import create_app

    with (
        tempfile.TemporaryDirectory() as tmp,
        local_llm(model, log.with_suffix(".sample.log")) as llm,
    ):
        api_settings = settings.model_copy(update={"data_dir": Path(tmp), "rate_limit": None})
        embedder = MiniLMEmbedder()
        store = build_store(api_settings)
        build_index(api_settings, embedder, store).write_paths([ROOT / "data" / "sample"])
        with serve_app(create_app(api_settings, llm=llm, embedder=embedder, store=store)) as url:
            first_sentence_v1(url, ["Which sample article is this?"])  # warm up
            return first_sentence_v1(url)


def parse_config(text: str) -> Config:
    budget, _, judge = text.partition(":")
    if judge not in JUDGE_SCOPES:
        raise SystemExit(f"--configs: {text!r} is not BUDGET:off|risky|all")
    return int(budget), judge  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="articles (0 = all 3,800)")
    parser.add_argument(
        "--answers", type=int, default=-1, help="news-dev questions for the local LLM (-1: all)"
    )
    parser.add_argument("--ratio-articles", type=int, default=100)
    parser.add_argument(
        "--configs", default=None, help="BUDGET:JUDGE pairs to compare, e.g. 0:off,400:risky "
        "(budget 0: whole passages; default: 0:off and QA_PASSAGE_BUDGET:QA_JUDGE)",
    )  # fmt: skip
    args = parser.parse_args()
    if not NEWS_DEV.is_dir():
        raise SystemExit(f"news-dev set not found at {NEWS_DEV}")
    configure_logging("WARNING")
    settings = Settings()  # chunk sizes and the local model, as `qa ingest` and `make run` use
    docs, queries = load_news_dev(args.limit or None)
    embedder = MiniLMEmbedder()
    report: dict = {"articles": len(docs)}
    # the index is kept between runs: embedding thousands of articles takes many minutes
    # the whole set shares the index of `QA_DATA_DIR=var/newsdev qa ingest` (see README)
    data = ROOT / "var" / ("newsdev" if len(docs) == 3800 else f"bench-{len(docs)}")
    store = Store(make_client(data / "chroma"), "news")
    index = Index(
        store,
        Ingestor(embedder, store, settings.chunk_tokens, settings.chunk_overlap),
        data / "bm25" / "news" / KEYWORD_FILE,
    )
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
    results = run_eval(retriever, questions, list(RETRIEVAL_MODES))
    report["retrieval"] = {mode: r["retrieval"] for mode, r in results.items()}
    print(markdown_table(results), flush=True)
    report["ingest_vs_embedding"] = ingest_ratio(docs[: args.ratio_articles], settings, embedder)
    print(report["ingest_vs_embedding"], flush=True)
    if args.answers:
        model = ROOT / settings.local_model
        log = ROOT / "var" / "bench-llm.log"
        shipped = f"{settings.passage_budget}:{settings.judge}"
        configs = [parse_config(c) for c in (args.configs or f"0:off,{shipped}").split(",")]
        report["first_sentence_v1_sample"] = {
            config_name(config): sample_api_first_sentence(
                settings.model_copy(update={"passage_budget": config[0], "judge": config[1]}),
                model,
                log,
            )
            for config in configs
        }
        print(report["first_sentence_v1_sample"], flush=True)
        chosen = questions if args.answers < 0 else questions[: args.answers]
        report["answers_news_dev"] = answer_runs(
            retriever, chosen, model, configs, log, settings.top_k, settings.llm_max_tokens,
            settings.judge_threshold,
        )  # fmt: skip
    report["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "var" / "bench.json").write_text(text)


if __name__ == "__main__":
    main()
