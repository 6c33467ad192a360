"""`qa feeds add|list|remove|poll`: the live feeds from the command line.

add, list and remove only touch the feeds' state (no model, no index): a running `qa serve`
polls a feed added here within QA_FEEDS_POLL_S. `poll` is one pass for cron: it writes the
index, so with an embedded Chroma it needs the data dir (like `qa ingest`), and it polls only
while no other process holds the feeds lease."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from index.embed import Embedder
from index.lock import DataDirBusy
from qa.cli.console import console
from qa.feeds.manage import FeedError, Feeds, FeedView
from qa.feeds.poller import LeaseHeld
from qa.services import build_services, data_dir_lock
from qa.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = sub.add_parser("feeds", help="RSS and Atom feeds that keep the archive current")
    actions = feeds.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a feed (or change its interval and source)")
    add.add_argument("url")
    add.add_argument("--every", help="how often to poll it, e.g. 15m (QA_FEEDS_DEFAULT_EVERY)")
    add.add_argument("--source", help="the publisher name its documents carry (default: its title)")
    listing = actions.add_parser("list", help="the feeds, their state and errors")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = actions.add_parser("remove", help="stop polling a feed (its documents stay)")
    remove.add_argument("feed", metavar="URL|ID")
    poll = actions.add_parser("poll", help="poll the feeds that are due, once (for cron); JSON")
    poll.add_argument("--all", action="store_true", help="poll every feed now")


def command(
    args: argparse.Namespace, settings: Settings, build_embedder: Callable[[Settings], Embedder]
) -> int:
    if args.action == "poll":
        return _poll(args, settings, build_embedder)
    feeds = Feeds(settings)
    try:
        if args.action == "add":
            try:
                view, created = feeds.add(args.url, args.every, args.source)
            except FeedError as error:
                console.print(f"[red]cannot add the feed:[/] {error}")
                return 2
            what = "added" if created else "updated"
            console.print(f"{what} feed {view.id}: {view.url} (every {view.every})")
            print(view.model_dump_json())
            return 0
        if args.action == "remove":
            removed = feeds.remove(args.feed)
            if removed is None:
                console.print(f"[yellow]no feed {args.feed}[/]")
                return 1
            console.print(f"removed feed {removed.id}: {removed.url} (its documents stay)")
            return 0
        views = feeds.list()
        if args.json:
            print(json.dumps([v.model_dump() for v in views], indent=2))
        else:
            for view in views:
                print(_line(view))
            console.print(f"{len(views)} feeds")
        return 0
    finally:
        feeds.close()


def _line(view: FeedView) -> str:
    state: str = view.status
    if view.failures:
        state = f"failing ({view.failures} in a row: {view.last_error})"
    elif view.last_error:
        state = f"ok ({view.last_error})"
    return "\t".join(
        [
            str(view.id),
            view.url,
            view.source or "-",
            f"every {view.every}",
            f"{view.entries} entries",
            f"next {view.next_poll}",
            state,
        ]
    )


def _poll(
    args: argparse.Namespace, settings: Settings, build_embedder: Callable[[Settings], Embedder]
) -> int:
    try:
        with data_dir_lock(settings, "qa feeds poll"):
            services = build_services(settings, embedder=build_embedder(settings))
            feeds = Feeds(settings, services.write_documents)
            try:
                report = feeds.poll(everything=args.all)
            finally:
                feeds.close()
    except (DataDirBusy, LeaseHeld) as busy:
        console.print(f"[red]{busy}[/]")
        return 3
    print(report.model_dump_json(indent=2))
    failed = [f for f in report.feeds if f.status in ("failed", "interrupted")]
    for feed in failed:
        console.print(f"[red]{feed.status}[/] {feed.url}: {feed.error}")
    return 1 if failed else 0
