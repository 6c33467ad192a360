"""`qa` command line: ingest, ask, search, check, eval, serve, mcp, documents, feeds."""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import uvicorn
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from index.load import LoadError
from index.lock import DataDirBusy
from qa.cli import feeds
from qa.cli.console import console
from qa.cli.eval import command_check, command_eval
from qa.cli.mcp import cmd_mcp
from qa.domain import Filters
from qa.eval import answers as evaluate
from qa.logs import configure_logging
from qa.pipeline import AnswerFailed, QAService
from qa.services import (
    build_embedder,
    build_index,
    build_llm,
    build_qa,
    build_retriever,
    build_services,
    build_store,
    data_dir_lock,
)
from qa.settings import JUDGE_SCOPES, RETRIEVAL_MODES, RetrievalMode, Settings, get_settings
from qa.web.app import create_app

JUDGE_HELP = "the LLM's second reading of risky sentences (default: QA_JUDGE)"


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        console.print(f"[red]no such file or folder:[/] {', '.join(map(str, missing))}")
        return 2
    columns = (
        SpinnerColumn(),
        TextColumn("ingesting"),
        BarColumn(),
        TextColumn("{task.completed} documents"),
        TimeElapsedColumn(),
    )
    try:
        with data_dir_lock(settings, "qa ingest"):
            index = build_index(settings, build_embedder(settings), build_store(settings))
            with Progress(*columns, console=console, disable=args.quiet) as progress:
                task = progress.add_task("ingest", total=None)

                def on_error(error: LoadError) -> None:
                    progress.console.print(f"[red]failed[/] {error}")

                report = index.write_paths(
                    args.paths, on_error=on_error, on_done=lambda: progress.advance(task)
                )
    except DataDirBusy as busy:
        console.print(f"[red]{busy}[/]")
        return 3
    print(json.dumps(report.summary()))
    return 1 if report.failed else 0


def _filters(args: argparse.Namespace) -> Filters | None:

    metadata = dict(pair.split("=", 1) for pair in args.meta)
    if not (args.source or args.after or args.before or args.as_of or metadata):
        return None
    return Filters(
        source=args.source,
        published_after=args.after,
        published_before=args.before,
        as_of=args.as_of,
        metadata=metadata,
    )


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:

    services = build_services(settings)
    try:
        answer = asyncio.run(
            services.qa.ask(args.question, args.top_k or settings.top_k, _filters(args))
        )
    except AnswerFailed as exc:
        console.print(f"[red]{exc.error.kind}:[/] {exc}")
        return 3
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for c in answer.citations:
        print(
            f'  [{c.n}] {c.title} ({c.source or "?"}, {(c.published or "undated")[:10]}): "{c.quote}"'
        )
    return 0 if answer.grounded else 4


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:

    retriever = build_retriever(settings, build_embedder(settings), build_store(settings))
    passages = retriever.search(args.query, args.top_k or settings.top_k, _filters(args))
    print(json.dumps([p.model_dump() for p in passages], indent=2, ensure_ascii=False))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:

    if args.grounding:
        return command_eval(args, settings)
    if args.dataset is None:
        console.print("[red]name a question set (or --grounding CLAIMS)[/]")
        return 2
    modes = [m.strip() for m in (args.compare or args.mode or settings.retrieval).split(",")]
    unknown = [m for m in modes if m not in RETRIEVAL_MODES]
    chosen = [cast(RetrievalMode, m) for m in modes]
    if unknown:
        console.print(
            f"[red]unknown mode {', '.join(unknown)}; choose from {', '.join(RETRIEVAL_MODES)}[/]"
        )
        return 2
    if args.unanswerable and not (args.answers and args.corpus):
        console.print("[red]--unanswerable needs --answers and --corpus (the articles indexed)[/]")
        return 2
    try:
        questions = evaluate.load_questions(args.dataset)[: args.limit or None]
        unanswerable = (
            evaluate.unanswerable(questions, evaluate.load_corpus(args.corpus))
            if args.unanswerable
            else None
        )
    except (OSError, ValueError, KeyError) as error:
        console.print(f"[red]{error}[/]")
        return 2
    retriever = build_retriever(settings, build_embedder(settings), build_store(settings))
    if retriever.store.chunks.count() == 0:
        console.print("[red]nothing is ingested: run `qa ingest` on the corpus first[/]")
        return 2
    llm = build_llm(settings) if args.answers else None

    def service_for(mode: RetrievalMode) -> QAService:
        moded = copy.copy(retriever)  # shares the indexes, only the mode differs
        moded.config = replace(retriever.config, mode=mode)
        assert llm is not None
        return build_qa(settings, moded, llm)

    def progress(row: dict[str, Any]) -> None:
        right = {None: "-", 0.0: "wrong", 1.0: "right"}[row.get("correct_raw")]
        grounded = "grounded" if row["grounded"] else "refused"
        console.print(f"{row['id'] or row['question'][:40]}: model {right}, {grounded}")
        if args.rows:
            with args.rows.open("a", encoding="utf-8") as rows:
                rows.write(json.dumps(row, ensure_ascii=False) + "\n")

    results = evaluate.run_eval(
        retriever,
        questions,
        chosen,
        service_for if llm else None,
        args.k or settings.top_k,
        unanswerable,
        progress,
    )
    if args.out:
        evaluate.write_report(results, args.out)
    print(evaluate.to_json(results) if args.json else evaluate.markdown_table(results))
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:

    return command_check(args, settings)


SHUTDOWN_GRACE_S = 8  # open streams get this long after SIGTERM; under `docker stop`'s 10 s


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:

    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # at the signal, not at lifespan shutdown: that waits for the running requests,
            # and a running ingest must learn now that it should stop
            app.state.stopping.set()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,  # qa.logs configures every logger, uvicorn's included
        access_log=False,  # the app logs each request itself, with its request id
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    Server(config).run()
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:

    if args.action == "list":
        docs, total = build_store(settings).list_documents(limit=args.limit)
        for d in docs:
            print(
                f"{d.document.id}\t{(d.document.published or '')[:10]}\t{d.chunk_count}\t{d.document.title}"
            )
        console.print(f"{total} documents")
        return 0
    if not args.ids:
        console.print("[red]name the document ids to delete[/]")
        return 2

    try:
        with data_dir_lock(settings, "qa documents delete"):
            index = build_index(settings, None, build_store(settings))
            missing = [i for i in args.ids if not index.delete(i)]
    except DataDirBusy as busy:
        console.print(f"[red]{busy}[/]")
        return 3
    for doc_id in missing:
        console.print(f"[yellow]no document {doc_id}[/]")
    return 1 if missing else 0


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:

    return feeds.command(args, settings, build_embedder)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="index articles (.jsonl, .txt, .md, .html or folders)")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, arg in (("ask", "question"), ("search", "query")):
        p = sub.add_parser(name, help=f"{name} the indexed articles")
        p.add_argument(arg)
        p.add_argument("--top-k", type=int)
        p.add_argument("--source")
        p.add_argument("--after", help="published on or after (YYYY-MM-DD)")
        p.add_argument("--before", help="published on or before (YYYY-MM-DD)")
        p.add_argument("--as-of", help="as of this day: later articles are ignored (YYYY-MM-DD)")
        p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
        if name == "ask":
            p.add_argument("--json", action="store_true", help="print the full answer object")

    ev = sub.add_parser("eval", help="score retrieval (and answers) on a question set")
    ev.add_argument(
        "dataset",
        type=Path,
        nargs="?",
        help="JSONL: question, answer?, choices?, gold_doc_ids?, date?",
    )
    ev.add_argument(
        "--grounding", type=Path, metavar="CLAIMS", help="score the claim check on labelled claims"
    )
    ev.add_argument(
        "--corpus",
        type=Path,
        help="articles that --grounding passages refer to; the indexed corpus for --unanswerable",
    )
    ev.add_argument("--judge", choices=JUDGE_SCOPES, help=JUDGE_HELP)
    ev.add_argument("--mode", help="vector, bm25 or hybrid (default: QA_RETRIEVAL)")
    ev.add_argument("--compare", help="several modes side by side, e.g. vector,bm25,hybrid")
    ev.add_argument("--k", type=int, help="passages given to the LLM with --answers")
    ev.add_argument("--answers", action="store_true", help="also answer with the configured LLM")
    ev.add_argument(
        "--unanswerable",
        action="store_true",
        help="with --answers and --corpus: ask the questions whose answer is only in their gold "
        "articles with those excluded, and report the share refused",
    )
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.add_argument(
        "--rows",
        type=Path,
        help="with --answers: append each question's row here (JSONL) as it is answered",
    )
    ev.add_argument("--out", type=Path, help="also write the JSON results here")

    chk = sub.add_parser("check", help="check an answer against passages (as POST /check)")
    chk.add_argument("request", type=Path, nargs="?", help="a /check request as JSON ('-': stdin)")
    chk.add_argument("--answer", help="the answer text, with [n] markers")
    chk.add_argument("--passage", action="append", default=[], help="a passage's text (repeat)")
    chk.add_argument("--question")
    chk.add_argument("--judge", choices=JUDGE_SCOPES, help=JUDGE_HELP)

    serve = sub.add_parser("serve", help="run the HTTP API and chat page")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    sub.add_parser("mcp", help="run the MCP server over stdio (tools: ask, search, timeline, ...)")

    docs = sub.add_parser("documents", help="list or delete indexed documents")
    docs.add_argument("action", choices=["list", "delete"])
    docs.add_argument("ids", nargs="*")
    docs.add_argument("--limit", type=int, default=1000)

    feeds.add_parser(sub)
    return parser


COMMANDS = {
    "ingest": cmd_ingest,
    "ask": cmd_ask,
    "search": cmd_search,
    "eval": cmd_eval,
    "check": cmd_check,
    "serve": cmd_serve,
    "mcp": cmd_mcp,
    "documents": cmd_documents,
    "feeds": cmd_feeds,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    settings = get_settings()
    level = "WARNING" if args.command != "serve" else settings.log_level
    configure_logging(level, settings.log_json)
    return COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
