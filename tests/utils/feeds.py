"""A tiny threaded web server on 127.0.0.1 that serves the feed tests' feeds and pages, with
the misbehaviours the poller must survive (errors, slowness, huge bodies, redirects), and the
small articles those feeds carry (written for these tests)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # a request with If-None-Match: this gets 304
    delay_s: float = 0.0  # before the response starts
    repeat: int = 1  # the body sent this many times, with no Content-Length
    trickle_s: float = 0.0  # pause between the repeats


@dataclass
class Hit:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with server._lock:
                    server.hits.append(
                        Hit(self.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    page = server.pages.get(self.path)
                if page is None:
                    page = Page(b"not found", status=404, content_type="text/plain")
                time.sleep(page.delay_s)
                if page.etag is not None and self.headers.get("If-None-Match") == page.etag:
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                if page.etag is not None:
                    self.send_header("ETag", page.etag)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if page.repeat == 1:
                    self.send_header("Content-Length", str(len(page.body)))
                    self.end_headers()
                    with contextlib.suppress(OSError):  # the client stopped reading: allowed
                        self.wfile.write(page.body)
                    return
                self.send_header("Connection", "close")  # the body ends when the socket does
                self.end_headers()
                with contextlib.suppress(OSError):  # the client hung up: the point of the test
                    for _ in range(page.repeat):
                        self.wfile.write(page.body)
                        time.sleep(page.trickle_s)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits_of(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def __enter__(self) -> FeedServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@dataclass
class Item:
    """One article: its entry in a feed, and its page on the site."""

    guid: str
    title: str
    paragraphs: list[str]
    published: datetime | None = None
    path: str = ""  # the page's path on the server (default /articles/<guid>)
    summary: str = ""

    @property
    def page_path(self) -> str:
        return self.path or f"/articles/{self.guid}"

    def page(self, site: str = "Harbour Gazette") -> bytes:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in self.paragraphs)
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{escape(self.title)} - {site}</title></head><body>"
            "<nav><a href='/'>Home</a> | <a href='/world'>World</a> | <a href='/sport'>Sport</a></nav>"
            f"<article><h1>{escape(self.title)}</h1>{paragraphs}</article>"
            f"<footer>Copyright {site}. All rights reserved.</footer></body></html>"
        ).encode()


def rss(title: str, items: list[Item], base: str) -> bytes:
    entries = []
    for item in items:
        date = f"<pubDate>{format_datetime(item.published)}</pubDate>" if item.published else ""
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{base}{item.page_path}</link>"
            f"<guid isPermaLink='false'>{escape(item.guid)}</guid>{date}"
            f"<description>{escape(item.summary)}</description></item>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>{base}/</link><description>news</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def atom(title: str, items: list[Item], base: str) -> bytes:
    entries = []
    for item in items:
        updated = (item.published or datetime(2025, 1, 1, tzinfo=UTC)).isoformat()
        entries.append(
            f"<entry><id>tag:example.test,2025:{escape(item.guid)}</id>"
            f"<title>{escape(item.title)}</title><link href='{base}{item.page_path}'/>"
            f"<updated>{updated}</updated>"
            f"<summary>{escape(item.summary)}</summary></entry>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>{escape(title)}</title><id>urn:example:{escape(title)}</id>"
        "<updated>2025-03-01T00:00:00Z</updated>" + "".join(entries) + "</feed>"
    ).encode()


def publish(
    server: FeedServer, path: str, title: str, items: list[Item], kind: str = "rss"
) -> None:
    """Serve the items' pages and a feed of them at `path`."""
    for item in items:
        server.pages[item.page_path] = Page(item.page())
    body = (rss if kind == "rss" else atom)(title, items, server.base)
    server.pages[path] = Page(body, content_type=RSS_TYPE if kind == "rss" else ATOM_TYPE)


# the articles (invented for these tests)
BRIDGE = Item(
    guid="hg-2025-0301",
    title="Port Elwin opens its new harbour bridge",
    paragraphs=[
        "The new harbour bridge in Port Elwin opened to traffic on Sunday after four years of "
        "construction, the city council said.",
        "The council expects the bridge to carry about 14,000 vehicles a day once the old ferry "
        "service ends in April.",
        "Engineers said the main span, 410 metres long, is the longest of its kind in the region.",
    ],
    published=datetime(2025, 3, 2, 8, 0, tzinfo=UTC),
    summary="The bridge opened on Sunday.",
)
FESTIVAL = Item(
    guid="hg-2025-0302",
    title="Lantern festival returns to Port Elwin",
    paragraphs=[
        "The lantern festival returned to the Port Elwin waterfront on Saturday for the first "
        "time in three years, organisers said.",
        "About 2,500 paper lanterns were released over the harbour during the evening parade.",
    ],
    published=datetime(2025, 3, 3, 19, 30, tzinfo=UTC),
    summary="Lanterns over the harbour.",
)
TRAMS = Item(
    guid="vt-88",
    title="Valley Transit orders twelve electric trams",
    paragraphs=[
        "Valley Transit has ordered twelve electric trams from a Czech manufacturer for its "
        "northern line, the operator announced on Monday.",
        "The first trams are due in the autumn of 2026, and the order is worth 96 million euros.",
    ],
    published=datetime(2025, 3, 4, 6, 15, tzinfo=UTC),
    summary="Twelve trams for the northern line.",
)


def edited(item: Item, **changes: object) -> Item:
    return Item(**{**item.__dict__, **changes})  # type: ignore[arg-type]


# settings of the feed tests: the server is on loopback, intervals and limits are short
FEED_SETTINGS: dict[str, object] = {
    "feeds_allow_private": "127.0.0.1",
    "feeds_min_every": "0.1s",
    "feeds_timeout_s": 0.5,
    "feeds_deadline_s": 2.0,
    "feeds_max_bytes": 200_000,
    "rate_limit": "off",  # the tests poll the API every 50 ms while they wait for the poller
}
