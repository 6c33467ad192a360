"""The keyword index on news-dev, without embeddings: ranking of the SQLite FTS5 index against the
whole-corpus bm25s index it replaced, and how long one new article takes to become searchable
at news-dev's scale (~59k chunks).

Both rank the same chunks (index.chunk, 128 tokens / 24 overlap, title prepended, as ingest
does) with the same tokens (bm25s: English stopwords, Snowball stemmer); articles are ranked
as `qa eval --mode bm25` does (`qa.retrieval.fusion.fuse`: as_of filter, recency prior, wire copies as
one article).

    python -m benchmarks.keyword [--adds 20] [--out var/keyword-bench.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np

from benchmarks import run
from index.chunk import chunk_text
from index.dedup import DuplicateFinder, DuplicateGroups, find_groups, record
from index.keyword import KeywordChunk, KeywordFilter, KeywordIndex, Tokenizer
from index.load import Document
from index.records import chunk_metadata
from index.store import StoredChunk
from qa.eval.answers import CUTOFFS, EvalQuestion, retrieval_scores
from qa.eval.stats import percentile
from qa.retrieval.fusion import fuse
from qa.retrieval.retriever import RetrievalConfig, day_end_ts

Search = Callable[[str, int, KeywordFilter], list[tuple[str, float]]]
POOL = RetrievalConfig().pool


def chunk_corpus(
    docs: list[Document],
) -> tuple[dict[str, list[KeywordChunk]], dict[str, StoredChunk]]:
    rows: dict[str, list[KeywordChunk]] = {}
    stored: dict[str, StoredChunk] = {}
    for doc in docs:
        meta = chunk_metadata(doc)
        rows[doc.id] = []
        for c in chunk_text(doc.id, doc.text, 128, 24):
            rows[doc.id].append(KeywordChunk.from_chroma(c.id, c.text, meta))
            stored[c.id] = StoredChunk(
                c.id, doc.id, c.text, c.start, c.end, doc.title, doc.url, doc.source,
                doc.published, 0.0,
            )  # fmt: skip
    return rows, stored


class WholeBm25s:
    """What index/keyword.py did before: one bm25s index over every chunk, rebuilt per write."""

    def __init__(self, chunks: list[KeywordChunk], tokenize: Tokenizer):
        self.tokenize = tokenize
        self.ids = [c.id for c in chunks]
        self.stamps = np.array(
            [c.published_ts if c.published_ts is not None else np.nan for c in chunks]
        )
        self.bm25 = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        self.bm25.index(tokenize([c.text for c in chunks]), show_progress=False)

    def search(self, query: str, k: int, filters: KeywordFilter) -> list[tuple[str, float]]:
        scores = self.bm25.get_scores(self.tokenize([query])[0])
        with np.errstate(invalid="ignore"):
            scores = np.where(self.stamps <= (filters.max_ts or np.inf), scores, 0.0)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def score(
    search: Search,
    questions: list[EvalQuestion],
    stored: dict[str, StoredChunk],
    groups: DuplicateGroups,
) -> dict:
    rows, latencies = [], []
    config = RetrievalConfig(mode="bm25")
    for q in questions:
        assert q.date is not None
        clock = time.perf_counter()
        hits = search(q.question, POOL, KeywordFilter(max_ts=day_end_ts(q.date)))
        latencies.append((time.perf_counter() - clock) * 1000)
        articles = fuse([[stored[cid] for cid, _ in hits]], groups, config, q.date, q.date)
        ranked = [{a.doc_id, *(c.doc_id for c in a.copies)} for a in articles]
        rows.append(retrieval_scores(ranked, set(q.gold_doc_ids)))
    keys = [*(f"recall@{k}" for k in CUTOFFS), "mrr@10", "ndcg@10"]
    result = {key: round(statistics.fmean(r[key] for r in rows), 3) for key in keys}
    result["keyword_ms_p50"] = round(percentile(latencies, 0.5), 1)
    result["keyword_ms_p95"] = round(percentile(latencies, 0.95), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adds", type=int, default=20, help="articles added one at a time")
    parser.add_argument("--out", type=Path, default=Path("var/keyword-bench.json"))
    parser.add_argument("--news-dev", type=Path, default=run.NEWS_DEV)
    args = parser.parse_args()
    run.NEWS_DEV = args.news_dev
    docs, queries = run.load_news_dev(None)
    questions = [EvalQuestion.model_validate(q) for q in queries if q["gold_doc_ids"]]
    clock = time.perf_counter()
    rows, stored = chunk_corpus(docs)
    every = [c for doc in docs for c in rows[doc.id]]
    report: dict = {"articles": len(docs), "chunks": len(every), "questions": len(questions)}
    report["chunking_s"] = round(time.perf_counter() - clock, 1)
    records = [record(d) for d in docs]
    clock = time.perf_counter()
    groups = find_groups(records)
    report["duplicate_groups_s"] = round(time.perf_counter() - clock, 2)
    tokenize = Tokenizer()

    clock = time.perf_counter()
    whole = WholeBm25s(every, tokenize)
    report["bm25s_build_s"] = round(time.perf_counter() - clock, 1)
    report["bm25s"] = score(whole.search, questions, stored, groups)
    del whole

    with tempfile.TemporaryDirectory() as tmp:
        # all but the last `adds` articles in one go, then those one at a time, as POSTs do
        late = docs[-args.adds :]
        keyword = KeywordIndex(Path(tmp) / "keyword.sqlite3")
        clock = time.perf_counter()
        keyword.apply([c for doc in docs[: -args.adds] for c in rows[doc.id]])
        report["fts5_build_s"] = round(time.perf_counter() - clock, 1)
        finder = DuplicateFinder()
        for entry in records[: -args.adds]:
            finder.put(*entry)
        adds, regroups, finds, deletes = [], [], [], []
        for doc, entry in zip(late, records[-args.adds :], strict=True):
            clock = time.perf_counter()
            keyword.apply(rows[doc.id], drop_docs=[doc.id])
            adds.append(time.perf_counter() - clock)
            clock = time.perf_counter()
            finder.put(*entry)
            finder.groups()  # what a new snapshot holds
            regroups.append(time.perf_counter() - clock)
            clock = time.perf_counter()
            top = keyword.search(f"{doc.title}", 10, KeywordFilter())
            finds.append(time.perf_counter() - clock)
            assert any(cid.startswith(f"{doc.id}:") for cid, _ in top), doc.id
        report["fts5"] = score(keyword.search, questions, stored, groups)
        for doc in late:
            clock = time.perf_counter()
            keyword.apply((), drop_docs=[doc.id])
            deletes.append(time.perf_counter() - clock)
        report["fts5_file_mb"] = round((Path(tmp) / "keyword.sqlite3").stat().st_size / 1e6, 1)
        clock = time.perf_counter()
        KeywordIndex(Path(tmp) / "keyword.sqlite3").count()
        report["fts5_reopen_s"] = round(time.perf_counter() - clock, 3)
    report["add_one_article_ms"] = {
        "chunks_per_article_mean": round(statistics.fmean(len(rows[d.id]) for d in late), 1),
        "keyword_write_p50": round(percentile(adds, 0.5) * 1000, 1),
        "keyword_write_max": round(max(adds) * 1000, 1),
        "then_found_by_search_p50": round(percentile(finds, 0.5) * 1000, 1),
        "delete_p50": round(percentile(deletes, 0.5) * 1000, 1),
        "duplicate_groups_p50": round(percentile(regroups, 0.5) * 1000, 1),
        "duplicate_groups_max": round(max(regroups) * 1000, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
