"""Several processes over one index, run as a user would: two `qa serve` replicas over a real
`chroma run` server stay in step, and share one feeds poller; the CLI refuses to write a data
dir a `qa serve` is using."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from qa.feeds.state import FeedState
from qa.testing.servers import free_port, subprocess_server
from tests.utils.feeds import BRIDGE, FESTIVAL, feed_server, publish

QA = [sys.executable, "-m", "qa.cli.main"]
FOLLOW_S = 10.0  # replicas poll the change log every second; a sync takes well under that


def qa_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QA_DATA_DIR": str(data_dir),
        "QA_LLM_BASE_URL": "http://127.0.0.1:9/v1",  # /search needs no LLM
        **extra,
    }


@contextlib.contextmanager
def qa_serve(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    cmd = [*QA, "serve", "--port", str(port)]
    with subprocess_server(cmd, f"http://127.0.0.1:{port}/healthz", 120, log, env):
        yield f"http://127.0.0.1:{port}"


def found(url: str, query: str) -> set[str]:
    response = httpx.post(f"{url}/search", json={"query": query, "top_k": 5}, timeout=30)
    response.raise_for_status()
    return {p["doc_id"] for p in response.json()["passages"]}


def eventually(check: object, timeout_s: float = FOLLOW_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_two_replicas_over_one_chroma_server_follow_each_other(
    chroma_server: str, tmp_path: Path
) -> None:
    # BM25 alone: Chroma's vector search would find the new text without any syncing
    shared = {"QA_CHROMA_URL": chroma_server, "QA_COLLECTION": "replicas", "QA_RETRIEVAL": "bm25"}
    env_a = qa_env(tmp_path / "a", **shared)
    env_b = qa_env(tmp_path / "b", **shared)
    with qa_serve(env_a, tmp_path / "a.log") as a, qa_serve(env_b, tmp_path / "b.log") as b:
        doc = {
            "id": "zeppelin",
            "title": "Airship line",
            "text": "The Zorblat airship flies daily.",
        }
        assert httpx.post(f"{a}/documents", json=doc, timeout=60).status_code == 200
        assert found(a, "Zorblat airship") == {"zeppelin"}, "the writer finds it on return"
        assert eventually(lambda: found(b, "Zorblat airship") == {"zeppelin"})

        # an edit that keeps the chunk count, through the other replica
        edited = {**doc, "text": "The Quendel airship flies daily."}
        assert httpx.post(f"{b}/documents", json=edited, timeout=60).json()["updated"]
        assert eventually(lambda: found(a, "Quendel airship") == {"zeppelin"})
        assert found(a, "Zorblat") == set()

        assert httpx.delete(f"{a}/documents/zeppelin", timeout=60).status_code == 204
        assert eventually(lambda: found(b, "Quendel airship") == set())


def test_cli_writes_are_refused_while_qa_serve_uses_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = qa_env(data, QA_COLLECTION="locked", QA_RETRIEVAL="bm25")
    article = tmp_path / "zeppelin.md"
    article.write_text("# Airship line\n\nThe Zorblat airship flies daily.\n", encoding="utf-8")
    with qa_serve(env, tmp_path / "serve.log") as url:
        for args in (["ingest", "--quiet", str(article)], ["documents", "delete", "zeppelin"]):
            result = subprocess.run(
                [*QA, *args], capture_output=True, text=True, env=env, timeout=300
            )
            assert result.returncode == 3, result.stderr
            message = " ".join(result.stderr.split())
            assert "a qa serve process (pid" in message and "QA_CHROMA_URL" in message, message
        # the server is unharmed, and takes the write itself
        doc = {"id": "zeppelin", "title": "Airship line", "text": "The Zorblat airship flies."}
        assert httpx.post(f"{url}/documents", json=doc, timeout=60).status_code == 200
        assert found(url, "Zorblat") == {"zeppelin"}
    # once it has stopped, the CLI may write
    result = subprocess.run(
        [*QA, "documents", "delete", "zeppelin"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    search = [*QA, "search", "Zorblat"]
    after = subprocess.run(search, capture_output=True, text=True, env=env, check=True)
    assert json.loads(after.stdout) == []


def test_two_replicas_share_one_feeds_poller_and_hand_it_over(
    chroma_server: str, tmp_path: Path
) -> None:
    """Two `qa serve` over one Chroma server and one feeds state file (QA_FEEDS_DB, as in
    docker-compose.yml): one of them holds the lease and polls, both answer from what it wrote;
    stopped, the holder frees the lease and the other one polls from then on."""
    shared = {
        "QA_CHROMA_URL": chroma_server,
        "QA_COLLECTION": "feeds",
        "QA_RETRIEVAL": "bm25",
        "QA_FEEDS_DB": str(tmp_path / "feeds.sqlite3"),
        "QA_FEEDS_POLL_S": "0.5",
        "QA_FEEDS_MIN_EVERY": "0.5s",
        "QA_FEEDS_ALLOW_PRIVATE": "127.0.0.1",
    }
    state = FeedState(tmp_path / "feeds.sqlite3")
    with feed_server() as site, contextlib.ExitStack() as replicas:
        publish(site, "/rss.xml", "Harbour Gazette", [BRIDGE])
        urls: dict[int, str] = {}
        procs = {}
        for name in ("a", "b"):
            port = free_port()
            proc = replicas.enter_context(
                subprocess_server(
                    [*QA, "serve", "--port", str(port)],
                    f"http://127.0.0.1:{port}/healthz",
                    120,
                    tmp_path / f"{name}.log",
                    qa_env(tmp_path / name, **shared),
                )
            )
            urls[proc.pid], procs[proc.pid] = f"http://127.0.0.1:{port}", proc
        first = next(iter(urls.values()))
        feed = {"url": site.url("/rss.xml"), "every": "0.5s"}
        assert httpx.post(f"{first}/feeds", json=feed, timeout=30).status_code == 201
        assert all(eventually(lambda u=u: bool(found(u, "harbour bridge"))) for u in urls.values())
        lease = state.lease()
        assert lease is not None
        holder = int(lease.holder.split(":")[1])
        assert holder in urls, lease.holder
        for _ in range(6):  # many wakes later, the lease has not changed hands
            time.sleep(0.5)
            assert (state.lease() or lease).holder == lease.holder
        procs[holder].terminate()
        procs[holder].wait(timeout=30)
        [other] = [u for pid, u in urls.items() if pid != holder]
        publish(site, "/rss.xml", "Harbour Gazette", [BRIDGE, FESTIVAL])
        assert eventually(lambda: bool(found(other, "lantern festival")), 15)
        taken = state.lease()
        assert taken is not None and int(taken.holder.split(":")[1]) != holder
