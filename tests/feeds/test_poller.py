"""Polling real feeds over HTTP on 127.0.0.1 into the real index (embedded Chroma, the keyword
index) through the services' one writer: new, edited, unchanged and duplicate entries, a 304,
failures and backoff, slow and huge responses, refused redirects, and the lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embed import Embedder
from qa.feeds.manage import Feeds
from qa.feeds.poller import LeaseHeld
from qa.services import Services, build_services
from qa.testing.fakes import ScriptedLLM
from tests.utils.feeds import (
    BRIDGE,
    FEED_SETTINGS,
    FESTIVAL,
    TRAMS,
    FeedServer,
    Page,
    edited,
    feed_server,
    publish,
)
from tests.utils.support import make_settings, wait_until


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


@pytest.fixture
def services(tmp_path: Path, hashing_embedder: Embedder) -> Services:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1", **FEED_SETTINGS)
    return build_services(settings, llm=ScriptedLLM(), embedder=hashing_embedder)


@pytest.fixture
def feeds(services: Services) -> Iterator[Feeds]:
    registry = Feeds(services.settings, services.write_documents)
    yield registry
    registry.close()


def stored_ids(services: Services) -> set[str]:
    docs, _ = services.store.list_documents(limit=100)
    return {d.document.id for d in docs}


def test_rss_and_atom_entries_become_documents(
    server: FeedServer, feeds: Feeds, services: Services
) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
    publish(server, "/atom.xml", "VT News", [TRAMS], kind="atom")
    feeds.add(server.url("/rss.xml"), "10m")
    feeds.add(server.url("/atom.xml"), None, source="Valley Transit")
    report = feeds.poll()
    gazette, transit = report.feeds
    assert (gazette.status, transit.status) == ("ok", "ok")
    assert (gazette.entries, gazette.fetched, len(gazette.added)) == (2, 2, 2)
    assert len(transit.added) == 1 and stored_ids(services) == {*gazette.added, *transit.added}
    bridge = services.store.get_document(gazette.added[0])
    assert bridge is not None
    doc = bridge.document
    assert "about 14,000 vehicles a day" in doc.text and "All rights reserved" not in doc.text
    assert doc.title == BRIDGE.title and doc.source == "Harbour Gazette"
    assert doc.published == "2025-03-02T08:00:00+00:00"
    assert doc.url == server.url(BRIDGE.page_path)
    trams = services.store.get_document(transit.added[0])
    assert trams is not None and trams.document.source == "Valley Transit"  # --source wins
    [hit, *_] = services.qa.retriever.search("electric trams for the northern line", 3, None)
    assert hit.doc_id == transit.added[0], "searchable when the poll returns"
    views = {v.url: v for v in feeds.list()}
    assert views[server.url("/rss.xml")].title == "Harbour Gazette"
    assert (
        views[server.url("/rss.xml")].entries == 2 and views[server.url("/rss.xml")].every == "10m"
    )


def test_an_edited_entry_updates_its_document_in_place(
    server: FeedServer, feeds: Feeds, services: Services
) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
    feeds.add(server.url("/rss.xml"))
    first = feeds.poll().feeds[0]
    bridge_id = first.added[0]
    paragraphs = [BRIDGE.paragraphs[0].replace("Sunday", "Monday"), *BRIDGE.paragraphs[1:]]
    correction = edited(BRIDGE, paragraphs=paragraphs, summary="Corrected: it opened on Monday.")
    publish(server, "/rss.xml", "Harbour Gazette", [correction, FESTIVAL])
    again = feeds.poll(everything=True).feeds[0]
    assert again.updated == [bridge_id] and again.added == []
    assert (again.known, again.fetched) == (1, 1), "only the changed entry's page is fetched"
    stored = services.store.get_document(bridge_id)
    assert stored is not None and "opened to traffic on Monday" in stored.document.text
    assert "Sunday" not in stored.document.text
    assert stored_ids(services) == set(first.added), "updated, not duplicated"


def test_a_304_and_unchanged_entries_cost_no_page_fetches(server: FeedServer, feeds: Feeds) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
    server.pages["/rss.xml"].etag = '"v1"'
    feeds.add(server.url("/rss.xml"))
    assert feeds.poll().feeds[0].status == "ok"
    again = feeds.poll(everything=True).feeds[0]
    assert again.status == "not_modified" and again.fetched == 0
    assert server.hits_of("/rss.xml")[-1].headers["if-none-match"] == '"v1"'
    server.pages["/rss.xml"].etag = None  # a server without validators: the entries decide
    third = feeds.poll(everything=True).feeds[0]
    assert (third.status, third.known, third.fetched, third.added) == ("ok", 2, 0, [])
    assert len(server.hits_of(BRIDGE.page_path)) == 1


def test_a_failing_feed_backs_off_and_the_others_are_still_polled(
    server: FeedServer, services: Services
) -> None:
    settings = services.settings.model_copy(update={"feeds_max_backoff": 30.0})
    feeds = Feeds(settings, services.write_documents)
    server.pages["/broken.xml"] = Page(b"<h1>Internal Server Error</h1>", status=500)
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    broken, _ = feeds.add(server.url("/broken.xml"), "10s")
    feeds.add(server.url("/rss.xml"), "10s")
    try:
        first = {f.url: f for f in feeds.poll().feeds}
        assert first[server.url("/broken.xml")].status == "failed"
        assert "HTTP 500" in (first[server.url("/broken.xml")].error or "")
        assert first[server.url("/rss.xml")].status == "ok"
        assert len(first[server.url("/rss.xml")].added) == 1
        waits = []
        for _ in range(3):
            feed = feeds.state.get(broken.id)
            assert feed is not None and feed.last_polled is not None
            waits.append(round(feed.next_poll - feed.last_polled))
            feeds.poll(everything=True)
        assert waits == [20, 30, 30], "2 intervals, then 4 (capped at QA_FEEDS_MAX_BACKOFF)"
        assert [f.url for f in feeds.poll().feeds] == [], "a backing-off feed is not due"
        [view] = [v for v in feeds.list() if v.id == broken.id]
        assert (
            view.status == "failing"
            and view.failures == 4
            and "HTTP 500" in (view.last_error or "")
        )
        publish(server, "/broken.xml", "Recovered", [FESTIVAL])
        healed = {f.url: f for f in feeds.poll(everything=True).feeds}
        assert healed[server.url("/broken.xml")].status == "ok"
        [view] = [v for v in feeds.list() if v.id == broken.id]
        assert (view.status, view.failures, view.last_error) == ("ok", 0, None)
    finally:
        feeds.close()


def test_a_slow_feed_times_out_without_holding_up_the_others(
    server: FeedServer, feeds: Feeds
) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    server.pages["/slow.xml"] = Page(server.pages["/rss.xml"].body, delay_s=3.0)
    feeds.add(server.url("/slow.xml"))
    feeds.add(server.url("/rss.xml"))
    report = feeds.poll()
    slow, fast = report.feeds
    assert slow.status == "failed" and "timed out" in (slow.error or "")
    assert fast.status == "ok" and len(fast.added) == 1
    assert report.seconds < 2.5, "bounded by the read timeout, not by the server"


def test_a_huge_page_is_cut_off_and_the_feed_copy_stands_in(
    server: FeedServer, feeds: Feeds, services: Services
) -> None:
    bare = edited(FESTIVAL, summary="")  # nothing to fall back on
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, bare])
    server.pages["/rss.xml"].etag = '"v1"'
    for item in (BRIDGE, bare):
        server.pages[item.page_path] = Page(b"<p>" + b"word " * 20_000, repeat=50)
    feeds.add(server.url("/rss.xml"))
    report = feeds.poll().feeds[0]
    assert report.status == "ok" and report.from_feed_text == 1 and len(report.added) == 1
    stored = services.store.get_document(report.added[0])
    assert stored is not None and stored.document.text == "The bridge opened on Sunday."
    [error] = report.errors
    assert bare.page_path in error and "over 200000 bytes" in error
    # the entry left out is retried: the feed is read whole again (its ETag was not kept)
    server.pages[bare.page_path] = Page(bare.page())
    retry = feeds.poll(everything=True).feeds[0]
    assert retry.status == "ok" and len(retry.added) == 1 and retry.errors == []
    assert "if-none-match" not in server.hits_of("/rss.xml")[-1].headers


def test_redirects_to_private_addresses_are_refused(server: FeedServer, feeds: Feeds) -> None:
    server.pages["/moved.xml"] = Page(status=302, headers={"Location": "http://10.20.30.40/feed"})
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    server.pages[BRIDGE.page_path] = Page(
        status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    feeds.add(server.url("/moved.xml"))
    feeds.add(server.url("/rss.xml"))
    moved, gazette = feeds.poll().feeds
    assert moved.status == "failed" and "10.20.30.40 is not a public address (private)" in (
        moved.error or ""
    )
    assert gazette.status == "ok" and gazette.from_feed_text == 1, "the page was never fetched"


def test_the_same_story_under_two_guids_is_one_document(
    server: FeedServer, feeds: Feeds, services: Services
) -> None:
    repost = edited(BRIDGE, guid="hg-2025-0301-repost", summary="Repost: the bridge is open.")
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, repost])
    publish(server, "/top.xml", "Harbour Gazette top stories", [edited(BRIDGE, guid="top-1")])
    feeds.add(server.url("/rss.xml"))
    feeds.add(server.url("/top.xml"))
    gazette, top = feeds.poll().feeds  # polled at once: either may write the story first
    added = gazette.added + top.added
    assert len(added) == 1 and gazette.duplicates + top.duplicates == 2
    assert stored_ids(services) == set(added), "another feed's copy is a duplicate too"
    again = feeds.poll(everything=True).feeds
    assert [(f.known, f.fetched) for f in again] == [(2, 0), (1, 0)], "remembered, not refetched"


def test_one_poller_holds_the_lease_and_hands_it_over(
    server: FeedServer, services: Services
) -> None:
    """Two replicas over one state file: one polls, the other waits for the lease."""
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    first = Feeds(services.settings, services.write_documents)
    second = Feeds(services.settings, services.write_documents)
    try:
        first.add(server.url("/rss.xml"))
        first.start()
        wait_until(lambda: bool(stored_ids(services)), "the first replica's poll")
        with pytest.raises(LeaseHeld, match=first.poller.holder):
            second.poll(everything=True)
        first.close()  # a clean stop frees the lease at once
        assert second.poll(everything=True).holder == second.poller.holder
        # a holder that died keeps the lease only until it expires
        second.state.take_lease("crashed-replica", 60, time.time())
        with pytest.raises(LeaseHeld, match="crashed-replica"):
            second.poll()
        second.poller.clock = lambda: time.time() + 61
        assert second.poll().holder == second.poller.holder
    finally:
        first.close()
        second.close()


def test_the_poller_thread_polls_a_new_feed_at_once_and_stops_cleanly(
    server: FeedServer, services: Services
) -> None:
    settings = services.settings.model_copy(update={"feeds_poll_s": 30.0})
    feeds = Feeds(settings, services.write_documents)
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    feeds.start()
    try:
        start = time.monotonic()
        feeds.add(server.url("/rss.xml"))  # wakes the poller: no 30 s wait
        wait_until(lambda: bool(stored_ids(services)), "the poller thread", timeout_s=10)
        assert time.monotonic() - start < 10
    finally:
        start = time.monotonic()
        feeds.close()
    assert time.monotonic() - start < 3 and feeds.state.lease() is None


def test_a_feed_is_found_by_id_or_url_and_odd_names_find_nothing(
    server: FeedServer, feeds: Feeds
) -> None:
    view, _ = feeds.add(server.url("/rss.xml"))
    assert feeds.remove("²") is None and feeds.remove("9" * 40) is None  # no 500 from either
    assert feeds.remove(str(view.id)) is not None
    feeds.add(server.url("/rss.xml"))
    assert feeds.remove(f"  {server.url('/rss.xml')} ") is not None
