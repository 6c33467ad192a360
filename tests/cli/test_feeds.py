"""`qa feeds add|list|remove|poll` through the console script's `main`, against feeds served
on 127.0.0.1, into the data dir's real index."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.lock import DataDirLock
from qa.feeds.state import FEEDS_FILE, FeedState
from tests.utils.feeds import BRIDGE, FESTIVAL, FeedServer, Page, feed_server, publish
from tests.utils.support import run_cli

FEED_ENV = {"QA_FEEDS_ALLOW_PRIVATE": "127.0.0.1", "QA_FEEDS_TIMEOUT_S": "0.5"}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def qa(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, tmp_path, **FEED_ENV)


def test_add_list_poll_remove(server: FeedServer, tmp_path: Path) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
    url = server.url("/rss.xml")
    added = qa(["feeds", "add", url, "--every", "20m", "--source", "HG"], tmp_path)
    assert added.returncode == 0, added.stderr
    assert "added feed 1" in added.stderr and json.loads(added.stdout)["every"] == "20m"
    assert "updated feed 1" in qa(["feeds", "add", url, "--every", "1h"], tmp_path).stderr
    polled = qa(["feeds", "poll"], tmp_path)
    assert polled.returncode == 0, polled.stderr
    [report] = json.loads(polled.stdout)["feeds"]
    assert report["status"] == "ok" and len(report["added"]) == 2
    listing = qa(["feeds", "list"], tmp_path)
    assert f"1\t{url}\tHG\tevery 1h\t2 entries" in listing.stdout and "\tok" in listing.stdout
    [view] = json.loads(qa(["feeds", "list", "--json"], tmp_path).stdout)
    assert view["status"] == "ok" and view["source"] == "HG"
    docs = qa(["documents", "list"], tmp_path)
    assert BRIDGE.title in docs.stdout and FESTIVAL.title in docs.stdout
    assert json.loads(qa(["feeds", "poll"], tmp_path).stdout)["feeds"] == [], "none due"
    assert qa(["feeds", "remove", url], tmp_path).returncode == 0
    assert qa(["feeds", "remove", "1"], tmp_path).returncode == 1
    assert "0 feeds" in qa(["feeds", "list"], tmp_path).stderr


def test_a_failing_feed_fails_the_poll_and_shows_in_the_list(
    server: FeedServer, tmp_path: Path
) -> None:
    server.pages["/broken.xml"] = Page(b"down", status=503)
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    qa(["feeds", "add", server.url("/broken.xml")], tmp_path)
    qa(["feeds", "add", server.url("/rss.xml")], tmp_path)
    polled = qa(["feeds", "poll"], tmp_path)
    assert polled.returncode == 1 and "HTTP 503" in polled.stderr
    statuses = [f["status"] for f in json.loads(polled.stdout)["feeds"]]
    assert statuses == ["failed", "ok"]
    assert "failing (1 in a row: HTTP 503" in qa(["feeds", "list"], tmp_path).stdout


def test_private_addresses_and_bad_intervals_are_refused(tmp_path: Path) -> None:
    refused = run_cli(["feeds", "add", "http://127.0.0.1:9/feed.xml"], tmp_path)  # no env
    assert refused.returncode == 2 and "(loopback)" in refused.stderr
    bad = qa(["feeds", "add", "http://127.0.0.1:9/feed.xml", "--every", "30s"], tmp_path)
    assert bad.returncode == 2 and "QA_FEEDS_MIN_EVERY" in bad.stderr


def test_poll_waits_its_turn(server: FeedServer, tmp_path: Path) -> None:
    """Another process's lease, or a `qa serve` holding the data dir: exit 3, nothing polled."""
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    qa(["feeds", "add", server.url("/rss.xml")], tmp_path)
    state = FeedState(tmp_path / "data" / "bm25" / "cli" / FEEDS_FILE)
    state.take_lease("replica-2", 60, time.time())
    held = qa(["feeds", "poll"], tmp_path)
    assert held.returncode == 3 and "replica-2" in held.stderr
    state.release_lease("replica-2")
    with DataDirLock(tmp_path / "data", "qa serve"):
        busy = qa(["feeds", "poll"], tmp_path)
    assert busy.returncode == 3 and "qa serve" in busy.stderr
    assert server.hits_of("/rss.xml") == []
    assert qa(["feeds", "poll"], tmp_path).returncode == 0
    assert state.lease() is None, "a cron pass frees the lease when it ends"
