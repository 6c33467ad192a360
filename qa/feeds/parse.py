"""A feed's bytes into entries (feedparser: RSS 0.9x, 1.0, 2.0 and Atom), and an entry's page
into a `Document` (trafilatura, through the same HTML loader `qa ingest` uses)."""

from __future__ import annotations

import calendar
import hashlib
import html.parser
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from index.load import Document, load_html

_BLOCKS = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr"}
_SKIP = {"script", "style"}
_SPACES = re.compile(r"[ \t\r\f\v]+")


class NotAFeed(ValueError):
    """The body is not an RSS or Atom feed feedparser can read."""


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's identity within its feed: GUID or Atom id, else link, else title
    link: str | None
    title: str | None
    published: str | None  # ISO 8601, UTC
    text: str  # the feed's own copy (content, else summary) as plain text; may be ""
    fingerprint: str  # changes whenever the feed's copy of the entry changes

    def document_id(self, feed_url: str) -> str:
        """Stable per feed and entry: an edited entry keeps its document. Scoped to the feed,
        so one publisher cannot overwrite another's articles by reusing their GUIDs."""
        digest = hashlib.sha256(f"{feed_url}\n{self.key}".encode()).hexdigest()
        return f"feed-{digest[:20]}"


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[Entry]


def parse_feed(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a fetched feed; relative links resolve against `url`. Always bytes: feedparser
    given a string that looks like a URL would fetch it itself, past every check."""
    response_headers = {"content-location": url}
    if headers and headers.get("content-type"):
        response_headers["content-type"] = headers["content-type"]
    parsed = feedparser.parse(body, response_headers=response_headers)
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        raise NotAFeed("not an RSS or Atom feed" + (f" ({reason})" if reason else ""))
    entries = [_entry(raw) for raw in parsed.entries]
    title = _clean(parsed.feed.get("title"))
    return ParsedFeed(title, [e for e in entries if e is not None])


def _entry(raw: Any) -> Entry | None:
    link = raw.get("link") or None
    title = _clean(raw.get("title"))
    published = _iso(raw.get("published_parsed") or raw.get("updated_parsed"))
    contents = [c.get("value", "") for c in raw.get("content") or []]
    text = html_text(max(contents, key=len)) if contents else ""
    if not text:
        text = html_text(raw.get("summary") or "")
    key = raw.get("id") or link or (f"{title}\n{published}" if title else None)
    if not key:
        return None  # nothing to know it by next time
    updated = _iso(raw.get("updated_parsed"))
    fingerprint = json.dumps([title, link, published, updated, text], ensure_ascii=False)
    return Entry(
        key=str(key),
        link=link,
        title=title,
        published=published,
        text=text,
        fingerprint=hashlib.sha256(fingerprint.encode()).hexdigest()[:16],
    )


def _iso(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None  # feedparser gives UTC struct_times
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    return text or None


class _TextParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    """An entry's HTML summary or content as plain text, one paragraph a line."""
    parser = _TextParser()
    parser.feed(fragment)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def page_text(page: bytes, doc_id: str) -> Document | None:
    """The page's main text and metadata (trafilatura), or None when it finds no article."""
    try:
        return load_html(page, doc_id)
    except ValueError:
        return None


def entry_document(
    entry: Entry, page: Document | None, doc_id: str, source: str | None, feed_url: str
) -> Document:
    """The entry as a document: the page's text, unless the feed's own copy is longer (the
    page was a paywall, a gallery, or extraction kept only a scrap); the date from the feed,
    else the page's metadata. `ValueError` when there is no text."""
    if page is not None and len(page.text) < len(entry.text):
        page = None
    text = page.text if page else entry.text
    if not text.strip():
        raise ValueError("neither the page nor the feed has the article's text")
    title = entry.title or (page.title if page else None) or entry.link or doc_id
    return Document(
        id=doc_id,
        title=title[:1000],
        text=text,
        url=entry.link,
        source=source,
        published=entry.published or (page.published if page else None),
        metadata={"feed": feed_url, "guid": entry.key[:500]},
    )


def text_hash(text: str) -> str:
    """The same story's text under another GUID hashes the same (whitespace aside)."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:24]
