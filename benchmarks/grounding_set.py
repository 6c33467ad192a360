"""Build the grounding evaluation sets from news-dev (issue: "Catch wrong-but-cited answers").

    python -m benchmarks.grounding_set generate --llm URL   # the LLM answers each question
    python -m benchmarks.grounding_set build                # claims: right answers + one-fact edits

`generate` answers every news-dev question twice with the configured prompt: over an answerable
set of passages (the gold article's two best BM25 chunks and the best chunk of the two best other
articles, as of the question's date) and, for questions whose answer string is in no other
article, over the best passages with the gold articles removed (the unanswerable set). `build`
turns the model's correct answers into supported claims and edits copies of them into
unsupported ones (a wrong choice the passages never mention / mention elsewhere, a changed
number, an inserted negation, two names swapped).

The articles may not be copied into the project: the files written here keep passages as
(article id, start, end) and `load_claims(..., corpus=...)` reads their text back from news-dev.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from index.chunk import Chunk, chunk_text
from index.load import Document, iter_files, load_path
from qa.domain import Passage
from qa.eval.answers import normalize
from qa.llm.openai_chat import OpenAIChat
from qa.prompt import Prompts
from qa.settings import LOCAL_LLM_PORT, LOCAL_MODEL_ALIAS, Settings

NEWS_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "news-dev"
OUT = Path(__file__).resolve().parents[1] / "data" / "eval" / "grounding"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class ChunkIndex:
    """BM25 over every chunk of the corpus (title + text), ranked per article as of a date."""

    def __init__(self, articles: list[dict[str, Any]], settings: Settings):
        self.articles = {a["id"]: a for a in articles}
        self.chunks: list[Chunk] = []
        for a in articles:
            self.chunks += chunk_text(
                a["id"], a["text"], settings.chunk_tokens, settings.chunk_overlap
            )
        self.stemmer = Stemmer.Stemmer("english")
        texts = [f"{self.articles[c.doc_id]['title']}\n{c.text}" for c in self.chunks]
        self.bm25 = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        self.bm25.index(self._tokens(texts), show_progress=False)
        self.day = np.array(
            [(self.articles[c.doc_id]["published"] or "")[:10] for c in self.chunks]
        )
        self.doc = np.array([c.doc_id for c in self.chunks])

    def _tokens(self, texts: list[str]) -> Any:
        return bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )

    def best_chunks(
        self, query: str, as_of: str, include: set[str] | None = None, exclude: Iterable[str] = ()
    ) -> list[Chunk]:
        """Chunks by score, best first: each article's best chunk first, as of `as_of`."""
        scores = self.bm25.get_scores(self._tokens([query])[0])
        mask = self.day <= as_of
        if include is not None:
            mask &= np.isin(self.doc, list(include))
        excluded = list(exclude)
        if excluded:
            mask &= ~np.isin(self.doc, excluded)
        order = [int(i) for i in np.argsort(-np.where(mask, scores, -1.0)) if mask[i]]
        return [self.chunks[i] for i in order[:400]]

    def passage(self, n: int, chunk: Chunk) -> Passage:
        a = self.articles[chunk.doc_id]
        return Passage(
            n=n,
            doc_id=chunk.doc_id,
            chunk_id=chunk.id,
            title=a["title"],
            url=a.get("url"),
            source=a.get("source"),
            published=a["published"],
            start=chunk.start,
            end=chunk.end,
            score=0.0,
            text=chunk.text,
        )


def per_article(chunks: list[Chunk], articles: int) -> list[Chunk]:
    seen: list[str] = []
    picked: list[Chunk] = []
    for c in chunks:
        if c.doc_id not in seen:
            if len(seen) == articles:
                continue
            seen.append(c.doc_id)
            picked.append(c)
    return picked


def answerable_passages(index: ChunkIndex, q: dict[str, Any]) -> list[Passage]:
    gold = set(q["gold_doc_ids"])
    gold_chunks = index.best_chunks(q["question"], q["date"], include=gold)[:2]
    others = per_article(index.best_chunks(q["question"], q["date"], exclude=gold), 2)
    chunks = sorted(gold_chunks, key=lambda c: c.start) + others
    return [index.passage(i + 1, c) for i, c in enumerate(chunks)]


def unanswerable_passages(index: ChunkIndex, q: dict[str, Any]) -> list[Passage]:
    chunks = per_article(index.best_chunks(q["question"], q["date"], exclude=q["gold_doc_ids"]), 4)
    return [index.passage(i + 1, c) for i, c in enumerate(chunks)]


def answer_in_other_articles(q: dict[str, Any], normalized: dict[str, str]) -> bool:
    wanted = normalize(q["answer"])
    gold = set(q.get("gold_doc_ids") or [])
    return any(wanted in text for doc_id, text in normalized.items() if doc_id not in gold)


def passage_ref(p: Passage, inline: bool) -> dict[str, Any]:
    ref = {"id": p.doc_id, "title": p.title, "published": p.published}
    return {**ref, "text": p.text} if inline else {**ref, "start": p.start, "end": p.end}


def load_articles(path: Path) -> list[dict[str, Any]]:
    docs = [d for f in iter_files([path]) for d in load_path(f) if isinstance(d, Document)]
    return [d.model_dump() for d in docs]


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Questions with an id, a date and wrong `choices` (other questions' answers if missing)."""
    questions = load_jsonl(path)
    for i, q in enumerate(questions):
        q.setdefault("id", f"q{i + 1}")
        if "choices" not in q:
            others = [o["answer"] for o in questions if o["answer"] != q["answer"]]
            q["choices"] = [q["answer"], *random.Random(i).sample(others, min(3, len(others)))]
    return questions


async def generate(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    articles = load_articles(args.corpus)
    questions = load_questions(args.questions)[: args.limit or None]
    index = ChunkIndex(articles, settings)
    normalized = {a["id"]: normalize(f"{a['title']} {a['text']}") for a in articles}
    llm = OpenAIChat(args.llm, "sk-local", args.model, timeout_s=600, temperature=0.1)
    prompts = Prompts.load()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}-generations.jsonl"
    done = {(r["id"], r["set"]) for r in load_jsonl(path)} if path.exists() else set()
    with path.open("a", encoding="utf-8") as out:
        for q in questions:
            sets = [("answerable", answerable_passages)]
            if not answer_in_other_articles(q, normalized):
                sets.append(("unanswerable", unanswerable_passages))
            for name, make in sets:
                if (q["id"], name) in done:
                    continue
                passages = make(index, q)
                messages = prompts.answer_messages(
                    q["question"], passages, date.fromisoformat(q["date"])
                )
                started = datetime.now(UTC)
                reply = await llm.complete(messages, settings.llm_max_tokens)
                seconds = (datetime.now(UTC) - started).total_seconds()
                row = {
                    "id": q["id"],
                    "set": name,
                    "question": q["question"],
                    "answer": q["answer"],
                    "choices": q["choices"],
                    "date": q["date"],
                    "gold_doc_ids": q["gold_doc_ids"],
                    "passages": [passage_ref(p, args.inline) for p in passages],
                    "reply": reply.text,
                    "usage": reply.usage,
                    "seconds": round(seconds, 1),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(q["id"], name, round(seconds, 1), reply.text[:100].replace("\n", " "))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grounding_set")
    parser.add_argument("action", choices=["generate", "build"])
    parser.add_argument("--corpus", type=Path, default=NEWS_DEV / "corpus.jsonl")
    parser.add_argument("--questions", type=Path, default=NEWS_DEV / "queries.jsonl")
    parser.add_argument("--name", default="newsdev", help="prefix of the files written")
    parser.add_argument(
        "--inline", action="store_true", help="write passage texts (only for our own articles)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--llm", default=f"http://127.0.0.1:{LOCAL_LLM_PORT}/v1")
    parser.add_argument("--model", default=LOCAL_MODEL_ALIAS)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.action == "generate":
        asyncio.run(generate(args))
    else:
        from benchmarks.grounding_claims import build

        build(args)


if __name__ == "__main__":
    main()
