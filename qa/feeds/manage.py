"""What the CLI and the HTTP routes call: add, list, remove and poll feeds, and the poller that
`qa serve` runs. The documents go through the writer the caller passes (the app's and the
CLI's `Services.write_documents`); without one the feeds can be managed but not polled."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from index.load import Document
from qa.domain import IngestResult
from qa.feeds.fetch import Fetcher, FetchError, check_url
from qa.feeds.poller import Poller, PollReport, Writer, iso
from qa.feeds.state import FEEDS_FILE, Feed, FeedState
from qa.settings import Settings, format_duration, parse_duration


class FeedError(ValueError):
    """The caller's mistake (a URL that cannot be a feed here, a bad interval): the message
    says what to change."""


class FeedView(BaseModel):
    id: int
    url: str
    source: str | None = Field(description="the name documents carry: --source, else the title")
    title: str | None = Field(description="the feed's own title, from its last good poll")
    every: str = Field(description="how often it is polled, e.g. 15m")
    status: Literal["new", "ok", "failing"] = Field(
        description="new: not polled yet; failing: its last polls failed, it is backing off"
    )
    failures: int = Field(description="failed polls in a row")
    last_error: str | None
    last_polled: str | None
    last_ok: str | None
    next_poll: str | None
    entries: int = Field(description="entries seen so far")

    @classmethod
    def of(cls, feed: Feed) -> FeedView:
        status: Literal["new", "ok", "failing"] = (
            "failing" if feed.failures else "ok" if feed.last_ok else "new"
        )
        return cls(
            id=feed.id,
            url=feed.url,
            source=feed.source_name,
            title=feed.title,
            every=format_duration(feed.every_s),
            status=status,
            failures=feed.failures,
            last_error=feed.last_error,
            last_polled=iso(feed.last_polled),
            last_ok=iso(feed.last_ok),
            next_poll=iso(feed.next_poll),
            entries=feed.entries,
        )


def state_path(settings: Settings) -> Path:
    return settings.feeds_db or settings.keyword_dir / FEEDS_FILE


class Feeds:
    def __init__(self, settings: Settings, writer: Writer | None = None):
        self.settings = settings
        self.state = FeedState(state_path(settings))
        self.fetcher = Fetcher.from_settings(settings)
        self.poller = Poller(
            self.state,
            self.fetcher,
            writer or _no_writer,
            poll_s=settings.feeds_poll_s,
            max_backoff_s=settings.feeds_max_backoff,
            max_document_chars=settings.max_document_chars,
        )

    def add(
        self, url: str, every: str | float | None = None, source: str | None = None
    ) -> tuple[FeedView, bool]:
        """Add a feed, due at once; an URL already added gets the new interval and source.
        True when it is new."""
        url = url.strip()
        try:
            every_s = parse_duration(every) if every is not None else None
            if check_url(url).userinfo:
                raise FeedError(
                    "a feed URL must not carry a user name or password: GET /feeds shows it"
                )
            self.fetcher.check_host(url)  # a private address is refused now, not at each poll
        except (ValueError, FetchError) as error:
            raise FeedError(str(error)) from None
        every_s = every_s or self.settings.feeds_default_every
        least = self.settings.feeds_min_every
        if every_s < least:
            raise FeedError(
                f"every {format_duration(every_s)} is more often than the "
                f"{format_duration(least)} allowed (QA_FEEDS_MIN_EVERY)"
            )
        feed, created = self.state.add(url, every_s, (source or "").strip() or None, self._now())
        if created:
            self.poller.wake()
        return FeedView.of(feed), created

    def list(self) -> list[FeedView]:
        return [FeedView.of(f) for f in self.state.all()]

    def remove(self, url_or_id: str) -> FeedView | None:
        """Stop polling a feed (by id or URL); its documents stay in the index."""
        feed = self.state.find(url_or_id.strip())
        if feed is None or not self.state.remove(feed.id):
            return None
        return FeedView.of(feed)

    def poll(self, everything: bool = False) -> PollReport:
        """One pass (see Poller.poll); raises `LeaseHeld` when another process polls."""
        return self.poller.poll(everything)

    def start(self) -> None:
        self.poller.start()

    def close(self) -> None:
        self.poller.stop()
        self.fetcher.close()

    def _now(self) -> float:
        return self.poller.clock()


def _no_writer(docs: list[Document]) -> IngestResult:
    raise RuntimeError("these feeds were opened without a writer: they cannot be polled")
