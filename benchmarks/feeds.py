"""What a feed poll costs: an RSS feed of N generated articles (and their pages) served from a
folder on 127.0.0.1 by the standard library's file server, which answers If-Modified-Since
with 304, polled through the real services (MiniLM, embedded Chroma, the keyword index).

Passes: the first poll (every page fetched, extracted, embedded, written); the same feed again
(304); the feed file rewritten with the same entries (200, every entry known: no page fetched);
one article edited (one page fetched, its document updated in place).
Run: python -m benchmarks.feeds [--entries 50]"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from html import escape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from index.load import Document
from qa.domain import IngestResult
from qa.feeds.manage import Feeds
from qa.feeds.poller import FeedReport
from qa.services import build_services
from qa.settings import Settings

TOWNS = ["Port Elwin", "Marlow Bay", "Quillon", "Ashgrove", "Tarrant", "Hollin", "Brackmoor"]
TOPICS = [
    ("council approves a new cycle lane network", "kilometres of lanes", "the transport committee"),
    ("hospital opens an emergency wing", "beds", "the health board"),
    ("ferry operator adds a winter crossing", "passengers a week", "the operator"),
    ("school district hires more teachers", "teachers", "the district"),
    ("water utility replaces old mains", "metres of pipe", "the utility"),
]


def article(i: int, edit: int = 0) -> tuple[str, str]:
    town = TOWNS[i % len(TOWNS)]
    topic, unit, body = TOPICS[i % len(TOPICS)]
    count = 100 + 37 * i + edit
    title = f"{town} {topic} ({i})"
    paragraphs = [
        f"The {town} {topic.split(' ', 1)[1]}, {body} said on Tuesday, in a plan that covers "
        f"{count} {unit} over the next three years.",
        f"Officials in {town} said the work would start in spring and that residents would be "
        "consulted on the details at public meetings in every district.",
        f"Critics said the budget of {count * 3} thousand was too small for a town the size of "
        f"{town}, and asked {body} to publish its estimates.",
        "A final vote is expected next month, after the consultation closes.",
    ]
    page = (
        f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
        "<nav>Home | Local | Sport</nav><article>"
        f"<h1>{escape(title)}</h1>"
        + "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        + "</article>"
        "<footer>Bench Gazette</footer></body></html>"
    )
    return title, page


def write_site(root: Path, entries: int, edited: int | None = None) -> None:
    (root / "a").mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(entries):
        title, page = article(i, edit=1 if i == edited else 0)
        path = root / "a" / f"{i}.html"
        if i == edited or not path.exists():
            path.write_text(page, encoding="utf-8")
        stamp = formatdate(1_740_000_000 + 3600 * i, usegmt=True)
        items.append(
            f"<item><title>{escape(title)}</title><link>/a/{i}.html</link>"
            f"<guid isPermaLink='false'>bench-{i}</guid><pubDate>{stamp}</pubDate>"
            f"<description>{escape(title)}{' (updated)' if i == edited else ''}</description>"
            "</item>"
        )
    feed = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        "<title>Bench Gazette</title><link>/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    )
    (root / "feed.xml").write_text(feed, encoding="utf-8")


@contextmanager
def serve(root: Path) -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        write_site(site, args.entries)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp) / "data",
            llm_base_url="http://127.0.0.1:9/v1",  # no LLM call is made
            feeds_allow_private="127.0.0.1",
            feeds=False,
        )
        services = build_services(settings)
        writes: list[float] = []

        def writer(docs: list[Document]) -> IngestResult:
            clock = time.perf_counter()
            try:
                return services.write_documents(docs)
            finally:
                writes.append(time.perf_counter() - clock)

        feeds = Feeds(settings, writer)
        rows: list[tuple[str, FeedReport, float, float]] = []
        with serve(site) as base:
            feeds.add(f"{base}/feed.xml")

            def run(name: str) -> None:
                writes.clear()
                clock = time.perf_counter()
                [report] = feeds.poll(everything=True).feeds
                rows.append((name, report, time.perf_counter() - clock, sum(writes)))

            run("first poll (all new)")
            run("unchanged feed (304)")
            later = time.time() + 5  # the server compares whole seconds
            write_site(site, args.entries)
            os.utime(site / "feed.xml", (later, later))
            run("feed rewritten, entries unchanged")
            write_site(site, args.entries, edited=3)
            later += 5
            os.utime(site / "feed.xml", (later, later))
            run("one article edited")
        feeds.close()
    print(f"RSS feed of {args.entries} entries on 127.0.0.1; real MiniLM, embedded Chroma")
    print("| pass | status | pages fetched | added | updated | known | total s | writing s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r, total, writing in rows:
        print(
            f"| {name} | {r.status} | {r.fetched} | {len(r.added)} | {len(r.updated)} "
            f"| {r.known} | {total:.2f} | {writing:.2f} |"
        )


if __name__ == "__main__":
    main()
