"""`qa` command line: ingest, ask, search, serve, documents."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from qa.settings import Settings, get_settings

console = Console(stderr=True)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from index.embed import MiniLMEmbedder
    from index.ingest import Ingestor
    from index.load import LoadError
    from qa.services import build_store

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        console.print(f"[red]no such file or folder:[/] {', '.join(map(str, missing))}")
        return 2
    ingestor = Ingestor(
        MiniLMEmbedder(settings.embed_model_dir, settings.embed_batch_size),
        build_store(settings),
        settings.chunk_tokens,
        settings.chunk_overlap,
    )
    columns = (
        SpinnerColumn(),
        TextColumn("ingesting"),
        BarColumn(),
        TextColumn("{task.completed} documents"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=args.quiet) as progress:
        task = progress.add_task("ingest", total=None)

        def on_error(error: LoadError) -> None:
            progress.console.print(f"[red]failed[/] {error}")

        report = ingestor.ingest_paths(
            args.paths, on_error=on_error, on_done=lambda: progress.advance(task)
        )
    print(json.dumps(report.summary()))
    return 1 if report.failed else 0


def _filters(args: argparse.Namespace):  # noqa: ANN202 - local import keeps startup light
    from qa.schemas import Filters

    if not (args.source or args.after or args.before):
        return None
    return Filters(source=args.source, published_after=args.after, published_before=args.before)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.pipeline import AnswerFailed
    from qa.services import build_services

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
    from qa.retrieve import Retriever
    from qa.services import build_embedder, build_store

    retriever = Retriever(build_embedder(settings), build_store(settings))
    passages = retriever.search(args.query, args.top_k or settings.top_k, _filters(args))
    print(json.dumps([p.model_dump() for p in passages], indent=2, ensure_ascii=False))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from qa.app import create_app

    uvicorn.run(
        create_app(settings), host=args.host or settings.host, port=args.port or settings.port
    )
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from qa.services import build_store

    store = build_store(settings)
    if args.action == "list":
        docs, total = store.list_documents(limit=args.limit)
        for d in docs:
            print(
                f"{d.document.id}\t{(d.document.published or '')[:10]}\t{d.chunk_count}\t{d.document.title}"
            )
        console.print(f"{total} documents")
        return 0
    if not args.ids:
        console.print("[red]name the document ids to delete[/]")
        return 2
    missing = [i for i in args.ids if not store.delete_document(i)]
    for doc_id in missing:
        console.print(f"[yellow]no document {doc_id}[/]")
    return 1 if missing else 0


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
        if name == "ask":
            p.add_argument("--json", action="store_true", help="print the full answer object")

    serve = sub.add_parser("serve", help="run the HTTP API and chat page")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    docs = sub.add_parser("documents", help="list or delete indexed documents")
    docs.add_argument("action", choices=["list", "delete"])
    docs.add_argument("ids", nargs="*")
    docs.add_argument("--limit", type=int, default=1000)
    return parser


COMMANDS = {
    "ingest": cmd_ingest,
    "ask": cmd_ask,
    "search": cmd_search,
    "serve": cmd_serve,
    "documents": cmd_documents,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from qa.logs import configure_logging

    settings = get_settings()
    configure_logging("WARNING" if args.command != "serve" else settings.log_level)
    return COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
