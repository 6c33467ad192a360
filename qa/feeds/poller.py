"""Polling: one pass over the feeds that are due, and the thread inside `qa serve` that runs a
pass every `QA_FEEDS_POLL_S` while it holds the lease (qa/feeds/state.py).

A pass polls up to `WORKERS` feeds at once; within a feed the pages are fetched one after
another (one publisher, one request at a time). Per feed:
1. conditional GET with the ETag / Last-Modified of its last good poll: a 304 ends it;
2. entries whose fingerprint is the one recorded are skipped without fetching their page;
3. a new or changed entry's page is fetched and its text extracted (else the feed's own copy);
   a new entry whose text is already another entry's document is a duplicate, not written;
4. the feed's documents go through the one writer in one call; then the entries are recorded
   and the feed is due again one interval later.
A feed that fails (network, HTTP error, not a feed) waits 2^failures intervals (capped) and is
reported; the others go on. An interruption that is not the feed's fault (the index could not be
written, the server stopping, the lease lost) leaves it due at the next pass, with no backoff."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from index.load import Document
from qa.domain import IngestResult
from qa.feeds.fetch import Fetcher, FetchError
from qa.feeds.parse import (
    Entry,
    NotAFeed,
    ParsedFeed,
    entry_document,
    page_text,
    parse_feed,
    text_hash,
)
from qa.feeds.state import Feed, FeedState, Lease, Seen
from qa.jobs import IngestStopped

log = logging.getLogger(__name__)
Writer = Callable[[list[Document]], IngestResult]
WORKERS = 4  # feeds polled at once
MAX_ERRORS = 20  # entry errors kept in a report
PAGE_TYPES = ("html", "xml")  # content types worth extracting text from


class LeaseHeld(Exception):
    def __init__(self, lease: Lease):
        self.lease = lease
        until = datetime.fromtimestamp(lease.expires, UTC).isoformat(timespec="seconds")
        super().__init__(
            f"another poller ({lease.holder}) holds the feeds lease until {until}; it polls the "
            "feeds, so this one does not"
        )


class Interrupted(Exception):
    """A poll cut short through no fault of the feed's."""


class FeedReport(BaseModel):
    id: int
    url: str
    status: Literal["ok", "not_modified", "failed", "interrupted"] = "ok"
    entries: int = Field(0, description="entries in the feed")
    known: int = Field(0, description="entries unchanged since the last poll: not fetched")
    fetched: int = Field(0, description="pages fetched")
    added: list[str] = Field(default_factory=list, description="new documents")
    updated: list[str] = Field(default_factory=list, description="documents edited in place")
    unchanged: int = Field(0, description="entries fetched again whose document is the same")
    duplicates: int = Field(0, description="new entries whose text another entry already has")
    from_feed_text: int = Field(0, description="entries indexed from the feed's own copy")
    errors: list[str] = Field(default_factory=list, description="entries not indexed (retried)")
    error: str | None = Field(None, description="why the feed failed or was interrupted")
    next_poll: str | None = None
    seconds: float = 0.0


class PollReport(BaseModel):
    holder: str = Field(description="the process that polled (host:pid:random)")
    feeds: list[FeedReport]
    seconds: float


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Poller:
    def __init__(
        self,
        state: FeedState,
        fetcher: Fetcher,
        writer: Writer,
        poll_s: float = 60.0,
        max_backoff_s: float = 21600.0,
        max_document_chars: int = 200_000,
        clock: Callable[[], float] = time.time,
    ):
        self.state = state
        self.fetcher = fetcher
        self.writer = writer
        self.poll_s = poll_s
        self.max_backoff_s = max_backoff_s
        self.max_document_chars = max_document_chars
        self.clock = clock
        self.holder = new_holder()
        # renewed before every fetch and write, so it outlives the longest single step; an
        # idle holder renews it every wake, so three missed wakes hand it over
        self.lease_s = max(60.0, 3 * poll_s) + 2 * fetcher.deadline_s
        self._one_pass = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass --------------------------------------------------------------------------
    def poll(self, everything: bool = False) -> PollReport:
        """Poll the feeds that are due (`everything`: all of them, now). Raises `LeaseHeld`
        when another process polls."""
        start = time.monotonic()
        with self._one_pass:
            self._keep()
            now = self.clock()
            feeds = self.state.all() if everything else self.state.due(now)
            try:
                with ThreadPoolExecutor(WORKERS, thread_name_prefix="feed-poll") as pool:
                    reports = list(pool.map(self._poll_feed, feeds))
            finally:
                if self._thread is None:  # a one-off pass: the lease is free for others now
                    self.state.release_lease(self.holder)
        return PollReport(
            holder=self.holder, feeds=reports, seconds=round(time.monotonic() - start, 3)
        )

    def _keep(self) -> None:
        if self._stop.is_set():  # stopped: the lease was given up, a late fetch must not retake it
            raise Interrupted("stopped: the server is shutting down")
        lease = self.state.take_lease(self.holder, self.lease_s, self.clock())
        if lease.holder != self.holder:
            raise LeaseHeld(lease)

    def _poll_feed(self, feed: Feed) -> FeedReport:
        start = time.monotonic()
        report = FeedReport(id=feed.id, url=feed.url)
        next_poll: float | None = None
        try:
            self._keep()
            headers = {
                "Accept": "application/rss+xml, application/atom+xml, application/rdf+xml,"
                " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
            }
            if feed.etag:
                headers["If-None-Match"] = feed.etag
            if feed.last_modified:
                headers["If-Modified-Since"] = feed.last_modified
            fetched = self.fetcher.get(feed.url, headers)
            now = self.clock()
            if fetched.status == 304:
                report.status = "not_modified"
                self.state.succeeded(feed, now)
            else:
                parsed = parse_feed(fetched.body, fetched.url, fetched.headers)
                self._entries(feed, parsed, report)
                validators = (fetched.header("etag"), fetched.header("last-modified"))
                note = f"{len(report.errors)} entries not indexed yet" if report.errors else None
                # entries left to retry: no validators, so the next poll reads the feed again
                self.state.succeeded(
                    feed, now, parsed.title, (None, None) if report.errors else validators, note
                )
            next_poll = now + feed.every_s
        except (Interrupted, LeaseHeld, IngestStopped) as error:
            report.status, report.error = "interrupted", str(error)
            self.state.interrupted(feed, self.clock(), str(error))
        except (FetchError, NotAFeed) as error:
            report.status, report.error = "failed", str(error)
            next_poll = self.state.failed(feed, self.clock(), str(error), self.max_backoff_s)
        except Exception as error:  # a bug or a surprise in one feed must not stop the others
            log.exception("polling feed %s failed", feed.url)
            report.status, report.error = "failed", f"{type(error).__name__}: {error}"
            next_poll = self.state.failed(feed, self.clock(), report.error, self.max_backoff_s)
        report.next_poll = iso(next_poll)
        report.seconds = round(time.monotonic() - start, 3)
        log.info(
            "feed %s: %s, %d added, %d updated%s",
            feed.url,
            report.status,
            len(report.added),
            len(report.updated),
            f" ({report.error})" if report.error else "",
        )
        return report

    def _entries(self, feed: Feed, parsed: ParsedFeed, report: FeedReport) -> None:
        unique: dict[str, Entry] = {}
        for entry in parsed.entries:  # a GUID listed twice: the first (newest) copy counts
            unique.setdefault(entry.key, entry)
        entries = list(unique.values())
        report.entries = len(entries)
        source = feed.source or parsed.title or urlsplit(feed.url).hostname
        seen = self.state.seen(feed.id, [e.key for e in entries])
        fetched: list[tuple[Entry, Document, Seen | None]] = []
        for entry in entries:
            if self.fetcher.cancelled.is_set():
                raise Interrupted("stopped: the server is shutting down")
            known = seen.get(entry.key)
            if known and known.fingerprint == entry.fingerprint:
                report.known += 1
                continue
            doc = self._document(feed, entry, source, known, report)
            if doc is not None:
                fetched.append((entry, doc, known))
        # fetching runs for several feeds at once; from the duplicate check to the record it is
        # one feed at a time, or two feeds carrying one story would each find it new
        with self._write_lock:
            self._write(feed, fetched, report)

    def _write(
        self, feed: Feed, fetched: list[tuple[Entry, Document, Seen | None]], report: FeedReport
    ) -> None:
        docs: list[Document] = []
        records: dict[str, Seen] = {}
        written: dict[str, str] = {}  # text hash -> document, within this poll
        for entry, doc, known in fetched:
            digest = text_hash(doc.text)
            if known is None:  # a new GUID: is it a story this or another feed already has?
                same = written.get(digest) or self.state.document_with_text(digest)
                if same is not None:
                    report.duplicates += 1
                    records[entry.key] = Seen(same, entry.fingerprint, digest)
                    continue
            written[digest] = doc.id
            docs.append(doc)
            records[entry.key] = Seen(doc.id, entry.fingerprint, digest)
        if docs:
            self._keep()
            try:
                result = self.writer(docs)
            except IngestStopped:
                raise
            except Exception as error:  # the store's trouble, not the feed's
                raise Interrupted(f"the index could not be written: {error}") from error
            report.added, report.updated = result.added, result.updated
            report.unchanged = len(result.unchanged)
        self.state.record(feed.id, records, self.clock())

    def _document(
        self, feed: Feed, entry: Entry, source: str | None, known: Seen | None, report: FeedReport
    ) -> Document | None:
        doc_id = known.doc_id if known else entry.document_id(feed.url)
        page, page_error = None, None
        if entry.link:
            self._keep()
            try:
                fetched = self.fetcher.get(entry.link)
                report.fetched += 1
                kind = (fetched.header("content-type") or "html").lower()
                if any(t in kind for t in PAGE_TYPES):
                    page = page_text(fetched.body, doc_id)
            except FetchError as error:
                page_error = str(error)
        try:
            doc = entry_document(entry, page, doc_id, source, feed.url)
        except ValueError as error:
            self._entry_error(report, entry, page_error or str(error))
            return None
        if doc.text == entry.text:
            report.from_feed_text += 1
        if len(doc.text) > self.max_document_chars:
            self._entry_error(
                report,
                entry,
                f"{len(doc.text)} characters of text; the limit is {self.max_document_chars}"
                " (QA_MAX_DOCUMENT_CHARS)",
            )
            return None
        return doc

    @staticmethod
    def _entry_error(report: FeedReport, entry: Entry, error: str) -> None:
        if len(report.errors) < MAX_ERRORS:
            report.errors.append(f"{entry.link or entry.key}: {error}")

    # --- the thread in `qa serve` ----------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="feeds-poller", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Poll now rather than at the next tick (a feed was just added)."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the thread: fetches in flight give up at their next piece, the lease is freed
        so another replica can take over at once."""
        self._stop.set()
        self.fetcher.cancelled.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the feeds poller is still finishing a fetch; leaving it")
            self._thread = None
        self.state.release_lease(self.holder)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.poll()
            except LeaseHeld:
                pass  # another replica polls; try again at the next tick, in case it died
            except Exception:
                log.exception("feeds poll failed")
            self._wake.wait(self.poll_s)
