"""Every failure is a JSON error with a request id: bad input found by fuzzing and by hand,
our own bugs, ids with "/", and a Chroma server that is not up yet. Real app, real HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.embed import MiniLMEmbedder
from index.load import Document, LoadError, load_path
from qa.llm.openai_chat import OpenAIChat
from qa.settings import Settings
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import free_port, serve_app, subprocess_server, wait_http
from qa.web.app import create_app
from tests.utils.support import ARTICLE

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=30) as c:
        assert c.post("/documents", json=ARTICLE).status_code == 200
        yield c


def assert_json_error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["type"] and error["message"]
    assert error["request_id"] == reply.headers["x-request-id"]
    return error  # type: ignore[no-any-return]


NESTED = b"[" * 100_000 + b"]" * 100_000
CHAT = '{"messages": [{"role": "user", "content": %s}]}'

BAD_INPUTS = [
    # raw bodies, as a fuzzer or a careless client sends them
    ("/ask", b'{"question": "ok?", "filters": {"metadata": {"n": NaN}}}', 422, "metadata"),
    ("/ask", b'{"question": "ok?", "filters": {"metadata": {"n": Infinity}}}', 422, "metadata"),
    ("/search", b'{"query": "ok?", "filters": {"metadata": {"n": -Infinity}}}', 422, "metadata"),
    ("/ask", b'{"question": "ok?", "stream": true, "filters": {"metadata": {"n": NaN}}}', 422, ""),
    ("/ask", b'{"question": "\\ud800 what happened?"}', 422, "question: "),
    (
        "/ask",
        b'{"question": "what?", "stream": true, "history": [{"role": "user", '
        b'"content": "a \\udfff"}]}',
        422,
        "history.0.content",
    ),
    ("/search", b'{"query": "\\ud800"}', 422, "Unicode"),
    ("/v1/chat/completions", (CHAT % '"\\ud800?"').encode(), 422, "Unicode"),
    ("/ask", b'{"question": "ok?", "top_k": true}', 422, "top_k"),
    ("/search", b'{"query": "ok?", "top_k": 2.0}', 422, "top_k"),
    ("/ask", b'{"question": "ok?", "as_of": 0}', 422, "as_of"),
    ("/ask", b'{"question": "ok?", "as_of": "1700000000"}', 422, "as_of"),
    ("/search", b'{"query": "ok?", "filters": {"published_after": 1}}', 422, "published_after"),
    ("/ask", b'{"question": "ok?"', 400, "JSON"),
    ("/search", b"{'query': 1}", 400, "JSON"),
    ("/v1/chat/completions", b"nope", 400, "JSON"),
    ("/documents", b'{"title": ', 400, "JSON"),
    ("/documents", NESTED, 400, "nested"),
    ("/ask", NESTED, 400, ""),
    ("/documents", b'{"title": "T", "text": "x", "metadata": {"n": NaN}}', 422, "metadata"),
    ("/documents", b'{"title": "T", "text": "a \\ud800 b"}', 422, "Unicode"),
    ("/documents", b'{"title": "T", "text": "x", "metadata": {"big": 1e999}}', 422, "metadata"),
]


@pytest.mark.parametrize(("path", "body", "status", "phrase"), BAD_INPUTS)
def test_bad_input_is_a_json_4xx(
    client: httpx.Client, path: str, body: bytes, status: int, phrase: str
) -> None:
    error = assert_json_error(client.post(path, content=body, headers=JSON), status)
    assert phrase in error["message"]
    assert client.get("/documents").json()["total"] == 1  # nothing bad was stored


def test_huge_offset_is_422_and_a_large_one_an_empty_page(client: httpx.Client) -> None:
    assert_json_error(client.get("/documents", params={"offset": 4294967296}), 422)
    page = client.get("/documents", params={"offset": 100_000})
    assert page.status_code == 200 and page.json()["documents"] == []


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    given = client.get("/documents/missing", headers={"x-request-id": "trace-42.a:b"})
    assert assert_json_error(given, 404)["request_id"] == "trace-42.a:b"
    ok = client.get("/healthz")
    assert len(ok.headers["x-request-id"]) == 32  # made here when none was sent
    hostile = client.get("/documents/missing", headers={"x-request-id": "a b\tc" + "x" * 300})
    assert assert_json_error(hostile, 404)["request_id"] != "a b\tc" + "x" * 300


def test_long_chat_history_is_cut_not_refused(client: httpx.Client, fake_llm: FakeLLM) -> None:
    long_turn = "background " * 3000  # 33,000 chars: chat clients resend whole conversations
    messages = [
        {"role": "user", "content": long_turn},
        {"role": "assistant", "content": long_turn},
        {"role": "user", "content": "What weapons were supplied to Russia?"},
    ]
    reply = client.post("/v1/chat/completions", json={"messages": messages})
    assert reply.status_code == 200, reply.text
    assert "240mm" in reply.json()["choices"][0]["message"]["content"]
    condense = fake_llm.requests[0]["messages"][-1]["content"]
    assert len(condense) < 2 * 20_000 + 2_000  # each turn cut to 20,000 chars


def test_ids_with_a_slash_can_be_read_and_deleted(client: httpx.Client) -> None:
    doc = {**ARTICLE, "id": "world/2024/nk weapons?"}
    assert client.post("/documents", json=doc).status_code == 200
    encoded = "/documents/world%2F2024%2Fnk%20weapons%3F"
    assert client.get(encoded).json()["id"] == "world/2024/nk weapons?"
    assert client.get("/documents/world/2024/nk%20weapons%3F").status_code == 200
    hits = client.post("/search", json={"query": "rocket launchers"}).json()["passages"]
    assert "world/2024/nk weapons?" in {p["doc_id"] for p in hits}
    assert client.delete(encoded).status_code == 204
    assert_json_error(client.get(encoded), 404)
    assert client.get("/documents/nk-weapons").status_code == 200  # the other one is untouched


def test_repeated_id_in_one_jsonl_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    lines = [
        {"id": "a", "title": "First", "text": "One."},
        {"id": "b", "title": "Second", "text": "Two."},
        {"id": "a", "title": "First again", "text": "Overwrites?"},
        {"title": "No id", "text": "NaN metadata", "metadata": {"x": float("nan")}},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    items = list(load_path(path))
    docs = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, LoadError)]
    assert [d.title for d in docs] == ["First", "Second"]
    assert [e.line for e in errors] == [3, 4]
    assert "'a' was already used on line 1" in errors[0].message
    assert "metadata" in errors[1].message


def test_our_own_bug_is_a_logged_json_500_not_an_llm_failure(
    settings: Settings,
    embedder: MiniLMEmbedder,
    fake_llm_server: tuple[FakeLLM, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    llm = OpenAIChat(fake_llm_server[1], "sk-test", "fake-model", timeout_s=5)

    async def misuse(**kwargs: Any) -> Any:  # stands for a bug in how we call the SDK
        raise TypeError("create() got an unexpected keyword argument 'max_token'")

    llm.client.chat.completions.create = misuse  # type: ignore[method-assign]
    with (
        serve_app(create_app(settings, llm=llm, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        assert c.post("/documents", json=ARTICLE).status_code == 200
        reply = c.post(
            "/ask", json={"question": "What weapons?"}, headers={"x-request-id": "bug-1"}
        )
        error = assert_json_error(reply, 500)
        assert error["type"] == "internal_error" and "bug-1" in error["message"]
        assert "max_token" not in reply.text  # internals stay in the log
    logged = capfd.readouterr().err
    assert "unhandled_error" in logged and "bug-1" in logged
    assert "Traceback" in logged and "max_token" in logged


def chroma_command(path: Path, port: int) -> list[str]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    return [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]


def test_starts_without_chroma_and_connects_when_it_comes_up(
    settings: Settings, embedder: MiniLMEmbedder, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    port = free_port()
    chroma_url = f"http://127.0.0.1:{port}"
    changed = settings.model_copy(update={"chroma_url": chroma_url})
    with (
        serve_app(create_app(changed, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        assert c.get("/healthz").status_code == 200
        ready = assert_json_error(c.get("/readyz"), 503)
        assert "store" in ready["message"]
        for reply in (
            c.post("/search", json={"query": "rockets"}),
            c.post("/ask", json={"question": "What weapons?", "stream": True}),
            c.post("/documents", json=ARTICLE),
            c.get("/documents"),
        ):
            assert assert_json_error(reply, 503)["type"] == "store_unavailable"
        server = subprocess_server(
            chroma_command(tmp_path / "srv", port),
            f"{chroma_url}/api/v2/heartbeat",
            60,
            tmp_path / "chroma.log",
        )
        with server:
            deadline = time.monotonic() + 30
            while c.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "never connected to the Chroma server"
                time.sleep(0.5)
            assert c.post("/documents", json=ARTICLE).status_code == 200
            hits = c.post("/search", json={"query": "rocket launchers"}).json()["passages"]
            assert hits[0]["doc_id"] == "nk-weapons"


def test_json_logs_carry_the_request_id_on_every_line(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str], fake_llm: FakeLLM
) -> None:
    """A real `qa serve` with QA_LOG_JSON=true: uvicorn's, chromadb's and our lines are all JSON,
    and the lines of a request (also those logged from worker threads) carry its id."""
    fake_llm.mode = "error"
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QA_")},
        "PYTHONPATH": str(root),
        "QA_LOG_JSON": "true",
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_PORT": str(port),
        "QA_LLM_BASE_URL": fake_llm_server[1],
        "QA_LLM_API_KEY": "sk-test-secret-000",
    }
    log_path = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli.main", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"{url}/healthz", proc, 120)
            with httpx.Client(base_url=url, timeout=30) as c:
                added = c.post("/documents", json=ARTICLE, headers={"x-request-id": "ingest-1"})
                assert added.status_code == 200
                failed = c.post(
                    "/ask", json={"question": "What weapons?"}, headers={"x-request-id": "ask-1"}
                )
                assert failed.status_code == 502
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    by_request: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_request.setdefault(line.get("request_id", ""), []).append(line)
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)
    ingest_events = {line["event"] for line in by_request["ingest-1"]}
    assert {"document_indexed", "request"} <= ingest_events  # the first from a worker thread
    ask = by_request["ask-1"]
    failure = next(line for line in ask if line["event"] == "llm_failed")
    assert failure["level"] == "error" and failure["status"] == 502
    request_line = next(line for line in ask if line["event"] == "request")
    assert request_line["status"] == 502 and request_line["level"] == "error"
    assert "sk-test-secret-000" not in log_path.read_text()
