"""/feeds over real HTTP, and the issue's "done when": a feed served on 127.0.0.1 is added,
polled by the poller inside the app, updated and deduplicated, and its new article answers a
question within one polling interval (real embedder, embedded Chroma, the fake LLM)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from index.embed import Embedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.feeds import (
    BRIDGE,
    FEED_SETTINGS,
    FESTIVAL,
    FeedServer,
    edited,
    feed_server,
    publish,
)
from tests.utils.support import COLLECTION, make_settings, run_cli, wait_until

QUESTION = {"question": "How many vehicles a day will the Port Elwin harbour bridge carry?"}
Start = Callable[..., contextlib.AbstractContextManager[httpx.Client]]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


@pytest.fixture
def start(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str], embedder: Embedder, fake_llm: FakeLLM
) -> Start:
    """The app with the feed settings (and these changes), as a client of it."""

    @contextlib.contextmanager
    def run(**changes: Any) -> Iterator[httpx.Client]:
        settings = make_settings(tmp_path, fake_llm_server[1], **{**FEED_SETTINGS, **changes})
        app = create_app(settings, embedder=embedder)
        with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client

    return run


def test_feeds_are_added_listed_polled_and_removed(start: Start, server: FeedServer) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
    url = server.url("/rss.xml")
    with start(feeds=False) as c:  # no poller in the app: the passes are these requests'
        added = c.post("/feeds", json={"url": url, "every": "30m"})
        assert added.status_code == 201, added.text
        feed = added.json()
        assert (feed["url"], feed["every"], feed["status"]) == (url, "30m", "new")
        again = c.post("/feeds", json={"url": url, "every": "1h", "source": "HG"})
        assert again.status_code == 200 and again.json()["id"] == feed["id"]
        assert again.json()["every"] == "1h" and again.json()["source"] == "HG"
        polled = c.post("/feeds/poll", json={})
        assert polled.status_code == 200, polled.text
        [report] = polled.json()["feeds"]
        assert report["status"] == "ok" and len(report["added"]) == 2
        assert c.post("/feeds/poll", json={}).json()["feeds"] == [], "nothing is due"
        [everything] = c.post("/feeds/poll", json={"all": True}).json()["feeds"]
        assert everything["known"] == 2
        [listed] = c.get("/feeds").json()["feeds"]
        assert (
            listed["status"] == "ok"
            and listed["entries"] == 2
            and listed["title"] == "Harbour Gazette"
        )
        docs = c.get("/documents").json()
        assert {d["id"] for d in docs["documents"]} == set(report["added"])
        assert {d["source"] for d in docs["documents"]} == {"HG"}
        assert c.delete(f"/feeds/{quote(url, safe='')}").status_code == 204  # by URL
        assert c.get("/feeds").json()["feeds"] == []
        assert c.delete(f"/feeds/{feed['id']}").status_code == 404
        assert c.get("/documents").json()["total"] == 2, "its documents stay"
        second = c.post("/feeds", json={"url": url}).json()
        assert second["every"] == "15m"  # QA_FEEDS_DEFAULT_EVERY
        assert c.delete(f"/feeds/{second['id']}").status_code == 204  # by id


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"url": "ftp://127.0.0.1/feed.xml"}, "only http and https"),
        ({"url": "http://10.0.0.1/feed.xml"}, "10.0.0.1 is not a public address (private)"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "(link-local)"),
        ({"url": "http://127.0.0.1:9/feed.xml", "every": "soon"}, "duration 'soon'"),
        ({"url": "http://user:secret@127.0.0.1:9/feed.xml"}, "must not carry a user name"),
        ({"url": "http://127.0.0.1:9/feed.xml", "every": "10ms"}, "duration '10ms'"),
        ({"url": "http://127.0.0.1:9/feed.xml", "every": "0.05s"}, "more often than"),
    ],
)
def test_a_feed_that_cannot_be_added_is_a_422(start: Start, body: dict, phrase: str) -> None:
    with start(feeds=False) as c:
        reply = c.post("/feeds", json=body)
        assert reply.status_code == 422, reply.text
        assert reply.json()["error"]["type"] == "invalid_feed"
        assert phrase in reply.json()["error"]["message"]
        assert c.get("/feeds").json()["feeds"] == []


def test_writes_need_the_key_like_documents_do(start: Start, server: FeedServer) -> None:
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    body = {"url": server.url("/rss.xml")}
    with start(feeds=False, api_keys="feed-key-1") as c:
        assert c.post("/feeds", json=body).status_code == 401
        wrong = {"authorization": "Bearer feed-key-2"}
        assert c.post("/feeds", json=body, headers=wrong).status_code == 403
        assert c.post("/feeds/poll", json={}).status_code == 401
        assert c.delete("/feeds/1").status_code == 401
        key = {"authorization": "Bearer feed-key-1"}
        plain = c.post("/feeds", content=str(body), headers={**key, "content-type": "text/plain"})
        assert plain.status_code == 415
        assert c.post("/feeds", json=body, headers=key).status_code == 201
        assert len(c.get("/feeds").json()["feeds"]) == 1, "reads stay open (QA_AUTH_READS off)"
        assert c.delete("/feeds/1", headers=key).status_code == 204


def cited_doc(c: httpx.Client) -> tuple[str, str] | None:
    body = c.post("/ask", json=QUESTION).json()
    if not body.get("grounded"):
        return None
    citation = body["citations"][0]
    return citation["doc_id"], citation["quote"]


def test_a_new_article_answers_within_one_polling_interval_and_edits_update_it(
    start: Start, server: FeedServer, fake_llm: FakeLLM
) -> None:
    """The issue's "done when", through the poller inside the app."""
    fake_llm.quote = "vehicles"  # the fake model answers with the sentence saying this
    poll_s = 1.0
    publish(server, "/rss.xml", "Harbour Gazette", [FESTIVAL])
    with start(feeds_poll_s=poll_s) as c:
        assert cited_doc(c) is None, "nothing about the bridge yet"
        assert (
            c.post("/feeds", json={"url": server.url("/rss.xml"), "every": "0.5s"}).status_code
            == 201
        )
        wait_until(lambda: c.get("/documents").json()["total"] == 1, "the first poll")
        publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])  # news breaks
        published = time.monotonic()
        wait_until(lambda: c.get("/documents").json()["total"] == 2, "the next poll")
        assert time.monotonic() - published <= poll_s + 1.0, "one interval, plus the work"
        cited = cited_doc(c)
        assert cited is not None, "the new article answers the question"
        doc_id, quote_ = cited
        assert "about 14,000 vehicles a day" in quote_
        assert c.get(f"/documents/{doc_id}").json()["source"] == "Harbour Gazette"
        # the story is corrected: the same document changes, no second one appears
        corrected = edited(
            BRIDGE,
            paragraphs=[p.replace("14,000", "15,500") for p in BRIDGE.paragraphs],
            summary="Corrected.",
        )
        publish(server, "/rss.xml", "Harbour Gazette", [corrected, FESTIVAL])
        wait_until(
            lambda: "15,500" in c.get(f"/documents/{doc_id}").json()["text"], "the correction"
        )
        cited = cited_doc(c)
        assert cited is not None and cited[0] == doc_id and "about 15,500 vehicles" in cited[1]
        assert c.get("/documents").json()["total"] == 2
        # and reposted under another GUID, it stays one document
        repost = edited(corrected, guid="repost-1", summary="Repost.")
        publish(server, "/rss.xml", "Harbour Gazette", [repost, corrected, FESTIVAL])
        wait_until(lambda: c.get("/feeds").json()["feeds"][0]["entries"] == 3, "the repost seen")
        assert c.get("/documents").json()["total"] == 2


def test_a_feed_added_by_the_cli_is_polled_within_one_interval(
    start: Start, server: FeedServer, tmp_path: Path
) -> None:
    """`qa feeds add` in another process writes only the state; the app's poller finds the
    feed at its next wake."""
    publish(server, "/rss.xml", "Harbour Gazette", [BRIDGE])
    poll_s = 1.0
    with start(feeds_poll_s=poll_s) as c:
        time.sleep(0.2)  # the poller has made its first pass and sleeps
        added = run_cli(
            ["feeds", "add", server.url("/rss.xml")],
            tmp_path,
            QA_COLLECTION=COLLECTION,
            QA_FEEDS_ALLOW_PRIVATE="127.0.0.1",
        )
        assert added.returncode == 0, added.stderr
        clock = time.monotonic()
        wait_until(lambda: c.get("/documents").json()["total"] == 1, "the poller", timeout_s=10)
        assert time.monotonic() - clock <= poll_s + 1.0
