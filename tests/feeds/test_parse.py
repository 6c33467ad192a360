"""Feeds of every flavour feedparser reads, entries' keys, dates and texts, and an entry's
page as a document (trafilatura, the feed's own copy when the page has no article)."""

from __future__ import annotations

import pytest

from qa.feeds.parse import (
    NotAFeed,
    entry_document,
    html_text,
    page_text,
    parse_feed,
    text_hash,
)
from tests.utils.feeds import BRIDGE, FESTIVAL, TRAMS, atom, rss

BASE = "http://news.invalid"
RSS_091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old Wire</title>
<link>http://news.invalid/</link><description>d</description>
<item><title>Ferry timetable changes</title><link>http://news.invalid/ferry</link>
<description>The winter timetable starts on Monday.</description></item></channel></rss>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://news.invalid/"><title>RDF Courier</title><link>http://news.invalid/</link>
<description>d</description></channel>
<item rdf:about="http://news.invalid/library"><title>Library reopens</title>
<link>http://news.invalid/library</link><dc:date>2025-03-05T09:00:00Z</dc:date>
<description>&lt;p&gt;The library reopened.&lt;/p&gt;&lt;p&gt;It has 40,000 books.&lt;/p&gt;</description>
</item></rdf:RDF>"""


def test_rss_2_entries() -> None:
    feed = parse_feed(rss("Harbour Gazette", [BRIDGE, FESTIVAL], BASE), BASE + "/rss.xml")
    assert feed.title == "Harbour Gazette"
    bridge, festival = feed.entries
    assert bridge.key == "hg-2025-0301" and bridge.link == BASE + "/articles/hg-2025-0301"
    assert bridge.published == "2025-03-02T08:00:00+00:00"
    assert bridge.title == BRIDGE.title and bridge.text == "The bridge opened on Sunday."
    assert festival.fingerprint != bridge.fingerprint


def test_atom_entries() -> None:
    feed = parse_feed(atom("Valley Transit News", [TRAMS], BASE), BASE + "/atom.xml")
    [trams] = feed.entries
    assert feed.title == "Valley Transit News"
    assert trams.key == "tag:example.test,2025:vt-88"
    assert trams.published == "2025-03-04T06:15:00+00:00"  # <updated>, as feedparser reads it


def test_rss_0_91_and_1_0() -> None:
    [ferry] = parse_feed(RSS_091, BASE).entries
    assert ferry.key == BASE + "/ferry", "no GUID: the link is the key"
    assert ferry.published is None and ferry.text == "The winter timetable starts on Monday."
    rdf = parse_feed(RDF, BASE)
    [library] = rdf.entries
    assert rdf.title == "RDF Courier" and library.published == "2025-03-05T09:00:00+00:00"
    assert library.text == "The library reopened.\nIt has 40,000 books."


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = rss("Site", [BRIDGE], "")  # links written as /articles/...
    [entry] = parse_feed(body, "https://paper.invalid/feeds/all.xml").entries
    assert entry.link == "https://paper.invalid/articles/hg-2025-0301"


@pytest.mark.parametrize("body", [b"<html><body>A web page</body></html>", b"", b"\x00\xff"])
def test_what_is_not_a_feed_says_so(body: bytes) -> None:
    with pytest.raises(NotAFeed, match="not an RSS or Atom feed"):
        parse_feed(body, BASE)


def test_a_changed_entry_changes_its_fingerprint_and_keeps_its_key() -> None:
    before = parse_feed(rss("G", [BRIDGE], BASE), BASE).entries[0]
    edited = BRIDGE.__class__(**{**BRIDGE.__dict__, "summary": "The bridge opened on Monday."})
    after = parse_feed(rss("G", [edited], BASE), BASE).entries[0]
    assert after.key == before.key and after.fingerprint != before.fingerprint
    assert after.document_id(BASE + "/rss") == before.document_id(BASE + "/rss")


def test_document_ids_are_scoped_to_their_feed() -> None:
    """A publisher reusing another feed's GUIDs gets documents of its own."""
    entry = parse_feed(rss("G", [BRIDGE], BASE), BASE).entries[0]
    mine, theirs = entry.document_id(BASE + "/a.xml"), entry.document_id(BASE + "/b.xml")
    assert mine != theirs and mine.startswith("feed-") and len(mine) == 25


def test_html_text() -> None:
    fragment = "<p>One &amp; two.</p><script>alert(1)</script><ul><li>three</li><li>four</li></ul>"
    assert html_text(fragment) == "One & two.\nthree\nfour"
    assert html_text("plain words") == "plain words"


def test_the_page_text_wins_and_the_feed_copy_stands_in() -> None:
    entry = parse_feed(rss("Harbour Gazette", [BRIDGE], BASE), BASE).entries[0]
    page = page_text(BRIDGE.page(), "d1")
    assert page is not None
    doc = entry_document(entry, page, "d1", "Harbour Gazette", BASE + "/rss")
    assert "about 14,000 vehicles a day" in doc.text
    assert "All rights reserved" not in doc.text and "Sport" not in doc.text  # boilerplate gone
    assert doc.published == "2025-03-02T08:00:00+00:00" and doc.source == "Harbour Gazette"
    assert doc.url == entry.link and doc.metadata == {"feed": BASE + "/rss", "guid": "hg-2025-0301"}
    assert page_text(b"<html><body><img src='gallery.jpg'></body></html>", "d1") is None
    fallback = entry_document(entry, None, "d1", "Harbour Gazette", BASE + "/rss")
    assert fallback.text == "The bridge opened on Sunday."
    scrap = page_text(b"<html><body><nav>Home</nav></body></html>", "d1")
    assert scrap is not None and scrap.text == "Home", "trafilatura keeps a scrap..."
    kept = entry_document(entry, scrap, "d1", None, BASE)
    assert kept.text == "The bridge opened on Sunday.", "...and the feed's longer copy wins"


def test_an_undated_entry_takes_the_page_date() -> None:
    [ferry] = parse_feed(RSS_091, BASE).entries
    page = page_text(
        b"<html><head><meta property='article:published_time' content='2025-02-11T10:00:00Z'>"
        b"<title>Ferry</title></head><body><article><p>The winter timetable of the island ferry "
        b"starts on Monday, with two crossings fewer each day, the operator said.</p></article>"
        b"</body></html>",
        "f1",
    )
    doc = entry_document(ferry, page, "f1", None, BASE)
    assert doc.published == "2025-02-11"


def test_no_text_anywhere_is_an_error() -> None:
    entry = parse_feed(rss("G", [BRIDGE.__class__("x", "Only a title", [])], BASE), BASE).entries[0]
    with pytest.raises(ValueError, match="neither the page nor the feed"):
        entry_document(entry, None, "d", None, BASE)


def test_text_hash_ignores_whitespace_only() -> None:
    assert text_hash("The bridge  opened.\n") == text_hash("The bridge opened.")
    assert text_hash("The bridge opened.") != text_hash("The bridge closed.")
