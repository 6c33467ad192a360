"""This pipeline beside LlamaIndex's CitationQueryEngine (issue "Fast where physics allows",
part 3; part of `make bench`): the same questions, the same articles, the same llama.cpp server.

    python -m benchmarks.llamaindex [--questions 20] [--articles 200] [--json FILE]

Three conditions, each over all questions before the next (so each keeps its own prompt prefix
in llama.cpp's cache, as a server answering only its own prompts would), on one server,
temperature 0, the same max tokens (QA_LLM_MAX_TOKENS):
- `pipeline`: this project's QAService as `create_app` builds it (settings as shipped: hybrid
  retrieval, passages trimmed, the claim check and judge), asked `as_of` the question's date.
  Scored twice: the model's raw text before the check, and the checked answer.
- `llamaindex`: `CitationQueryEngine.from_args(index, streaming=True)`, otherwise its defaults
  (VectorStoreIndex in memory, SentenceSplitter 1024/20 tokens, similarity_top_k 2, citation
  chunks 512/20, its citation prompt, compact response mode). Its embedder is this project's
  MiniLM (an adapter), its tokenizer tiktoken's offline cl100k, its LLM an adapter over the
  openai SDK (llama-index-llms-openai-like needs openai<3; the runtime lock has openai 3).
- `gold`: the same model given the gold article's best three chunks (by the embedder) with this
  project's answer prompt: no retrieval, no check. The ceiling the raw answers are held to.

The articles: the gold articles of the first --questions news-dev questions, then others in
corpus order up to --articles; both indexes hold exactly these. Accuracy: by the choice the
answer names (`qa.eval.answers.named_choice`) and by the gold answer as a substring. Prompt
tokens: the server's own count (`usage.prompt_tokens` of the same messages sent again with
max_tokens 1, read from its cache), summed over a question's LLM calls. First token: seconds
from asking to the first text of the model, retrieval included. Token rates: prompt tokens read
(after llama.cpp's prefix cache, from its log) per second to the first token, and streamed
chunks per second after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai import OpenAI

from benchmarks.answers import local_llm
from benchmarks.evidence import cpu_model
from benchmarks.recording import Call, Recorder, RecordingChat, chat_stream, prompt_tokens
from benchmarks.run import NEWS_DEV, ROOT
from index.chunk import ENCODING_NAME, chunk_text
from index.embed import Embedder, MiniLMEmbedder
from index.load import Document
from index.store import Store, make_client
from qa.domain import Filters, Passage
from qa.eval.answers import choice_correct, contains_answer
from qa.eval.stats import percentile
from qa.llm.base import Message
from qa.logs import configure_logging
from qa.pipeline import Delta, Done, Failed, QAService
from qa.prompt import Prompts
from qa.services import build_index, build_qa, build_retriever
from qa.settings import Settings

_REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")
GOLD_CHUNKS = 3


# --- LlamaIndex, set up offline over the same embedder and server --------------------------------
def llamaindex_engine(
    docs: list[Document], embedder: Embedder, client: OpenAI, model: str, max_tokens: int,
    recorder: Recorder, context_window: int,
) -> Any:  # fmt: skip
    """A VectorStoreIndex of `docs` and `CitationQueryEngine.from_args(index, streaming=True)`:
    LlamaIndex's defaults, with nothing fetched at run time."""
    import tiktoken
    from llama_index.core import Document as LIDocument
    from llama_index.core import Settings as LISettings
    from llama_index.core import VectorStoreIndex
    from llama_index.core.query_engine import CitationQueryEngine

    from benchmarks.llamaindex_adapters import LocalChatLLM, ProjectEmbedding

    # its default tokenizer downloads cl100k on first use; this is the same encoding, shipped
    LISettings.tokenizer = tiktoken.get_encoding(ENCODING_NAME).encode
    LISettings.embed_model = ProjectEmbedding(embedder)
    LISettings.llm = LocalChatLLM(
        client=client, model=model, max_tokens=max_tokens, context_window=context_window,
        recorder=recorder,
    )  # fmt: skip
    documents = [
        LIDocument(
            text=d.text,
            id_=d.id,
            metadata={"title": d.title, "published": (d.published or "")[:10]},
        )
        for d in docs
    ]
    index = VectorStoreIndex.from_documents(documents)
    return CitationQueryEngine.from_args(index, streaming=True)


# --- the three conditions --------------------------------------------------------------------------
@dataclass
class Row:
    """One question's answer under one condition."""

    raw: str  # the model's text
    answer: str  # what the system returns (the checked answer; else the raw text)
    first_token_s: float
    total_s: float
    calls: list[Call]
    grounded: bool | None = None
    first_sentence_s: float | None = None


async def pipeline_row(
    service: QAService, top_k: int, question: dict[str, Any], recorder: Recorder
) -> Row:
    clock = time.perf_counter()
    first = first_sentence = None
    raw, answer, grounded = "", "", None
    async for event in service.events(
        question["question"], top_k, Filters(as_of=question.get("date"))
    ):
        if isinstance(event, Delta):
            first = first if first is not None else time.perf_counter() - clock
            raw += event.text
        elif isinstance(event, Failed):
            raise RuntimeError(f"the pipeline failed: {event.error}")
        elif isinstance(event, Done):
            answer, grounded = event.answer.answer, event.answer.grounded
            first_sentence = event.answer.timings_ms.get("first_sentence")
    total = time.perf_counter() - clock
    return Row(
        raw, answer, first if first is not None else total, total, recorder.take(), grounded,
        None if first_sentence is None else first_sentence / 1000,
    )  # fmt: skip


def llamaindex_row(engine: Any, question: dict[str, Any], recorder: Recorder) -> Row:
    clock = time.perf_counter()
    first = None
    text = ""
    response = engine.query(question["question"])
    for piece in response.response_gen:
        if piece and first is None:
            first = time.perf_counter() - clock
        text += piece
    total = time.perf_counter() - clock
    return Row(text, text, first if first is not None else total, total, recorder.take())


def gold_passages(
    question: dict[str, Any], docs: dict[str, Document], embedder: Embedder, settings: Settings
) -> list[Passage]:
    """The gold article's GOLD_CHUNKS chunks nearest the question, best first."""
    doc = docs[question["gold_doc_ids"][0]]
    chunks = chunk_text(doc.id, doc.text, settings.chunk_tokens, settings.chunk_overlap)
    vectors = embedder.embed([question["question"], *(c.text for c in chunks)])
    scores = vectors[1:] @ vectors[0]
    best = sorted(range(len(chunks)), key=lambda i: -float(scores[i]))[:GOLD_CHUNKS]
    return [
        Passage(
            n=n,
            doc_id=doc.id,
            chunk_id=chunks[i].id,
            title=doc.title,
            url=doc.url,
            source=doc.source,
            published=doc.published,
            start=chunks[i].start,
            end=chunks[i].end,
            score=round(float(scores[i]), 4),
            text=chunks[i].text,
        )  # fmt: skip
        for n, i in enumerate(best, start=1)
    ]


def gold_row(
    client: OpenAI, model: str, messages: list[Message], max_tokens: int, recorder: Recorder
) -> Row:
    clock = time.perf_counter()
    first = None
    text = ""
    for piece in chat_stream(client, model, messages, max_tokens, recorder):
        first = first if first is not None else time.perf_counter() - clock
        text += piece
    total = time.perf_counter() - clock
    return Row(text, text, first if first is not None else total, total, recorder.take())


# --- figures -------------------------------------------------------------------------------------
def p50(values: list[float], digits: int = 2) -> float | None:
    return round(percentile(values, 0.5), digits) if values else None


def score(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    return {
        "accuracy_choice": round(statistics.fmean(r[f"{key}_choice"] for r in rows), 3),
        "accuracy_substring": round(statistics.fmean(r[f"{key}_substring"] for r in rows), 3),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    calls = [c for r in rows for c in r["calls"]]
    prefill = [c["read"] / c["to_first_s"] for c in calls if c["to_first_s"] and c["read"]]
    decode = [(c["chunks"] - 1) / c["decode_s"] for c in calls if c["decode_s"] and c["chunks"] > 1]
    report: dict[str, Any] = {
        "questions": len(rows),
        **score(rows, "answer"),
        "prompt_tokens_p50": p50([float(r["prompt_tokens"]) for r in rows], 0),
        "prompt_tokens_read_p50": p50([float(r["prompt_tokens_read"]) for r in rows], 0),
        "first_token_s_p50": p50([r["first_token_s"] for r in rows]),
        "total_s_p50": p50([r["total_s"] for r in rows]),
        "llm_calls": sum(len(r["calls"]) for r in rows),
        "prefill_tok_s_p50": p50(prefill, 1),
        "decode_tok_s_p50": p50(decode, 1),
    }
    if rows and rows[0].get("grounded") is not None:
        report["raw"] = score(rows, "raw")
        report["grounded"] = round(statistics.fmean(float(r["grounded"]) for r in rows), 3)
        report["first_sentence_s_p50"] = p50(
            [r["first_sentence_s"] for r in rows if r["first_sentence_s"] is not None]
        )
    return report


def measure(
    row: Row, question: dict[str, Any], client: OpenAI, model: str, log_text: str
) -> dict[str, Any]:
    """A row's scores, its prompt tokens (the server's count) and per-call timings."""
    remaining = [int(n) for n in _REMAINING.findall(log_text)]
    calls, tokens, read = [], 0, 0
    for i, call in enumerate(row.calls):
        n = prompt_tokens(client, model, call.messages)
        # a call without a prefix-match line in the log read its whole prompt
        r = remaining[i] if i < len(remaining) else n
        tokens, read = tokens + n, read + r
        calls.append({
            "prompt_tokens": n,
            "read": r,
            "to_first_s": (call.first - call.sent) if call.first else None,
            "decode_s": (call.last - call.first) if call.first and call.last else None,
            "chunks": call.chunks,
        })  # fmt: skip
    choices = question.get("choices") or []
    gold = str(question["answer"])
    out = {
        "id": question["id"],
        "prompt_tokens": tokens,
        "prompt_tokens_read": read,
        "first_token_s": round(row.first_token_s, 3),
        "total_s": round(row.total_s, 3),
        "calls": calls,
        "raw_text": row.raw,
        "answer_text": row.answer,
    }
    for key, text in (("raw", row.raw), ("answer", row.answer)):
        out[f"{key}_choice"] = choice_correct(text, choices, gold) if choices else 0.0
        out[f"{key}_substring"] = contains_answer(text, gold)
    if row.grounded is not None:
        out["grounded"] = row.grounded
        out["first_sentence_s"] = row.first_sentence_s
    return out


def load(questions: int, articles: int) -> tuple[list[dict[str, Any]], list[Document]]:
    """The first `questions` news-dev questions whose gold article is in the corpus, their gold
    articles, then other articles in corpus order up to `articles`."""
    records = [json.loads(line) for line in (NEWS_DEV / "corpus.jsonl").open()]
    docs = [
        Document(**{k: r[k] for k in ("id", "title", "text", "url", "published") if k in r})
        for r in records
    ]
    ids = {d.id for d in docs}
    queries = [json.loads(line) for line in (NEWS_DEV / "queries.jsonl").open()]
    chosen = [q for q in queries if q.get("gold_doc_ids") and q["gold_doc_ids"][0] in ids]
    chosen = chosen[:questions]
    gold = {g for q in chosen for g in q["gold_doc_ids"]}
    kept = [d for d in docs if d.id in gold]
    kept += [d for d in docs if d.id not in gold][: max(0, articles - len(kept))]
    return chosen, kept


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(args: argparse.Namespace, partial: Path) -> dict[str, Any]:
    settings = Settings().model_copy(update={"llm_temperature": 0.0, "rate_limit": None})
    questions, docs = load(args.questions, args.articles)
    by_id = {d.id: d for d in docs}
    embedder = MiniLMEmbedder()
    report: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "questions": len(questions),
        "articles": len(docs),
        "max_tokens": settings.llm_max_tokens,
        "load_start": load_average(),
    }
    log = ROOT / "var" / "bench-llamaindex-llm.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    model_path = (args.model or ROOT / settings.local_model).resolve()
    with tempfile.TemporaryDirectory() as tmp, local_llm(model_path, log) as served:
        base_url = str(served.client.base_url)
        model = served.model
        client = OpenAI(base_url=base_url, api_key="x", timeout=600, max_retries=0)
        recorder = Recorder()
        loop = asyncio.new_event_loop()  # one loop for the pipeline: its client's connections
        # this pipeline's index: Chroma, BM25, the chunking `qa ingest` uses
        ours = settings.model_copy(update={"data_dir": Path(tmp)})
        store = Store(make_client(ours.chroma_dir), ours.collection)
        index = build_index(ours, embedder, store)
        clock = time.perf_counter()
        chunks = index.write(docs).chunks
        report["pipeline_index"] = {"chunks": chunks, "seconds": round(time.perf_counter() - clock)}
        llm = RecordingChat(
            base_url, "x", model, settings.llm_timeout_s, 0.0, recorder=recorder
        )  # fmt: skip
        service = build_qa(ours, build_retriever(ours, embedder, store, index), llm)
        clock = time.perf_counter()
        engine = llamaindex_engine(
            docs, embedder, client, model, settings.llm_max_tokens, recorder, args.context
        )
        report["llamaindex_index"] = {"seconds": round(time.perf_counter() - clock)}
        prompts = Prompts.load(settings.prompts_dir)
        list(chat_stream(client, model, [{"role": "user", "content": "Hello"}], 4, recorder))
        recorder.take()  # warm-up
        conditions = {
            "pipeline": lambda q: loop.run_until_complete(
                pipeline_row(service, settings.top_k, q, recorder)
            ),
            "llamaindex": lambda q: llamaindex_row(engine, q, recorder),
            "gold": lambda q: gold_row(
                client, model,
                prompts.answer_messages(
                    q["question"], gold_passages(q, by_id, embedder, settings),
                    _day(q.get("date")),
                ),
                settings.llm_max_tokens, recorder,
            ),
        }  # fmt: skip
        report["conditions"] = {}
        for name, answer in conditions.items():
            rows = []
            loads = [load_average()[0]]
            for q in questions:
                offset = log.stat().st_size
                row = answer(q)
                time.sleep(0.2)  # the server's log lines for the call
                with log.open("rb") as f:
                    f.seek(offset)
                    text = f.read().decode(errors="replace")
                rows.append(measure(row, q, client, model, text))
                loads.append(load_average()[0])
                print(name, q["id"], _brief(rows[-1]), flush=True)
                report["conditions"][name] = {"rows": rows}
                partial.write_text(json.dumps(report, indent=2))  # a long run keeps its rows
            summary = summarise(rows) | {"load_1min": [min(loads), max(loads)]}
            report["conditions"][name] = {"summary": summary, "rows": rows}
            print(name, json.dumps(summary), flush=True)
    report["load_end"] = load_average()
    return report


def _day(value: str | None) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value[:10]) if value else None


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("answer_choice", "answer_substring", "raw_choice", "prompt_tokens", "first_token_s")
    return {k: row[k] for k in keys}


def table(report: dict[str, Any]) -> str:
    """The comparison, one line per system (the pipeline twice: before and after the check)."""
    conditions = report["conditions"]
    lines = [
        "| system | accuracy (choice) | accuracy (substring) | prompt tokens p50 "
        "| first token p50 s | prefill tok/s p50 | decode tok/s p50 |",
        "|---|---|---|---|---|---|---|",
    ]

    def line(name: str, acc: dict[str, float], s: dict[str, Any]) -> str:
        cells = [
            name, acc["accuracy_choice"], acc["accuracy_substring"], s["prompt_tokens_p50"],
            s["first_token_s_p50"], s["prefill_tok_s_p50"], s["decode_tok_s_p50"],
        ]  # fmt: skip
        return "| " + " | ".join("-" if c is None else str(c) for c in cells) + " |"

    ours = conditions["pipeline"]["summary"]
    lines.append(line("this pipeline, checked answer", ours, ours))
    lines.append(line("this pipeline, model's raw answer", ours["raw"], ours))
    li = conditions["llamaindex"]["summary"]
    lines.append(line("LlamaIndex CitationQueryEngine (defaults)", li, li))
    gold = conditions["gold"]["summary"]
    lines.append(line("gold article's top-3 chunks, this prompt", gold, gold))
    return "\n".join(lines)


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    """The goal's three ratios, from one run."""
    c = {k: v["summary"] for k, v in report["conditions"].items()}
    ours, li, gold = c["pipeline"], c["llamaindex"], c["gold"]

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {
        "prompt_tokens_vs_llamaindex": div(ours["prompt_tokens_p50"], li["prompt_tokens_p50"]),
        "first_token_vs_llamaindex": div(ours["first_token_s_p50"], li["first_token_s_p50"]),
        **{
            f"accuracy_{k}_minus_llamaindex": round(ours[f"accuracy_{k}"] - li[f"accuracy_{k}"], 3)
            for k in ("choice", "substring")
        },
        **{
            f"raw_vs_gold_{k}": div(ours["raw"][f"accuracy_{k}"], gold[f"accuracy_{k}"])
            for k in ("choice", "substring")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--model", type=Path, default=None, help="GGUF (QA_LOCAL_MODEL)")
    parser.add_argument("--context", type=int, default=4096, help="the server's n_ctx")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "llamaindex.json")
    args = parser.parse_args()
    if not NEWS_DEV.is_dir():
        raise SystemExit(f"news-dev set not found at {NEWS_DEV}")
    configure_logging("WARNING")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = run(args, args.json.with_suffix(".partial.json"))
    report["ratios"] = ratios(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(json.dumps({"ratios": report["ratios"], "load": report["load_end"]}))


if __name__ == "__main__":
    main()
