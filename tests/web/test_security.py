"""Who may write and read, what bodies are accepted, and what leaks: the real app over real HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from index.embed import MiniLMEmbedder
from qa.redact import redact
from qa.settings import Settings
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import ARTICLE

ROOT = Path(__file__).resolve().parents[2]
QUESTION = {"question": "What weapons were supplied to Russia?"}
Start = Callable[..., contextlib.AbstractContextManager[str]]


@pytest.fixture
def start(settings: Settings, embedder: MiniLMEmbedder, fake_llm: FakeLLM) -> Start:
    """Serve the app with some settings changed (e.g. api_keys="k1")."""

    def run(**changes: Any) -> contextlib.AbstractContextManager[str]:
        return serve_app(create_app(settings.model_copy(update=changes), embedder=embedder))

    return run


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_with_keys_writes_need_one(start: Start) -> None:
    with start(api_keys="first-key-123, second-key-456") as url, httpx.Client(base_url=url) as c:
        missing = c.post("/documents", json=ARTICLE)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["type"] == "unauthorized"
        wrong = c.post("/documents", json=ARTICLE, headers=bearer("second-key-45"))
        assert wrong.status_code == 403 and wrong.json()["error"]["type"] == "forbidden"
        basic = c.post("/documents", json=ARTICLE, headers={"authorization": "Basic eDp5"})
        assert basic.status_code == 401
        assert c.get("/documents/nk-weapons").status_code == 404  # nothing was written
        ok = c.post("/documents", json=ARTICLE, headers=bearer("second-key-456"))
        assert ok.status_code == 200, ok.text
        # reads stay open unless QA_AUTH_READS
        assert c.post("/search", json={"query": "rocket launchers"}).status_code == 200
        assert c.get("/documents/nk-weapons").status_code == 200
        assert c.delete("/documents/nk-weapons").status_code == 401
        assert c.delete("/documents/nk-weapons", headers=bearer("nope-nope")).status_code == 403
        assert c.delete("/documents/nk-weapons", headers=bearer("first-key-123")).status_code == 204


def test_auth_reads_protects_every_read_route(start: Start) -> None:
    with start(api_keys="reader-key-1", auth_reads=True) as url, httpx.Client(base_url=url) as c:
        reads = [
            ("POST", "/ask", QUESTION),
            ("POST", "/search", {"query": "rockets"}),
            ("GET", "/documents", None),
            ("GET", "/documents/nk-weapons", None),
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi?"}]}),
        ]
        for method, path, body in reads:
            reply = c.request(method, path, json=body)
            assert reply.status_code == 401, (path, reply.text)
            assert c.request(method, path, json=body, headers=bearer("x" * 12)).status_code == 403
        key = bearer("reader-key-1")
        assert c.get("/v1/models", headers=key).status_code == 200
        assert c.get("/documents", headers=key).status_code == 200
        assert c.post("/search", json={"query": "rockets"}, headers=key).status_code == 200
        # liveness and readiness stay open for orchestrators
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200


def test_without_keys_only_this_machine_may_write(start: Start) -> None:
    with start() as url, httpx.Client(base_url=url) as c:
        # a local reverse proxy forwarding a remote client: uvicorn takes the forwarded address
        remote = c.post("/documents", json=ARTICLE, headers={"x-forwarded-for": "203.0.113.7"})
        assert remote.status_code == 403
        assert "QA_API_KEYS" in remote.json()["error"]["message"]
        # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host
        rebound = c.post("/documents", json=ARTICLE, headers={"host": "evil.example:80"})
        assert rebound.status_code == 403
        assert (
            c.delete("/documents/x", headers={"x-forwarded-for": "203.0.113.7"}).status_code == 403
        )
        # reads are open to everyone
        forwarded = {"x-forwarded-for": "203.0.113.7"}
        assert c.post("/search", json={"query": "rockets"}, headers=forwarded).status_code == 200
        assert c.post("/documents", json=ARTICLE).status_code == 200  # from here, it works


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route's source
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_without_keys_a_client_on_the_network_cannot_write(
    settings: Settings, embedder: MiniLMEmbedder, fake_llm: FakeLLM
) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with serve_app(create_app(settings, embedder=embedder), address) as url:
        reply = httpx.post(f"{url}/documents", json=ARTICLE)
        assert reply.status_code == 403 and "QA_API_KEYS" in reply.json()["error"]["message"]
        assert httpx.post(f"{url}/search", json={"query": "rockets"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/documents", "text/plain"),  # what a cross-site <form> or fetch without CORS can send
        ("/documents", "application/x-www-form-urlencoded"),
        ("/documents", None),
        ("/ask", "text/plain;charset=UTF-8"),
        ("/v1/chat/completions", "multipart/form-data; boundary=x"),
    ],
)
def test_only_json_bodies_are_accepted(start: Start, path: str, content_type: str | None) -> None:
    import json

    body = ARTICLE if path == "/documents" else QUESTION
    if path.startswith("/v1"):
        body = {"messages": [{"role": "user", "content": "hi?"}]}
    headers = {"content-type": content_type} if content_type else {}
    with start() as url, httpx.Client(base_url=url) as c:
        reply = c.post(path, content=json.dumps(body).encode(), headers=headers)
        assert reply.status_code == 415, reply.text
        assert reply.json()["error"]["type"] == "unsupported_media_type"
        if path == "/documents":
            assert c.get("/documents/nk-weapons").status_code == 404


def test_cors_is_off_by_default_and_explicit_when_set(start: Start) -> None:
    preflight = {
        "origin": "https://news.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization",
    }
    with start() as url:
        reply = httpx.options(f"{url}/ask", headers=preflight)
        assert "access-control-allow-origin" not in reply.headers
        simple = httpx.get(f"{url}/documents", headers={"origin": "https://news.example"})
        assert "access-control-allow-origin" not in simple.headers
    with start(cors_origins="https://news.example") as url:
        allowed = httpx.options(f"{url}/ask", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://news.example"
        other = httpx.options(f"{url}/ask", headers={**preflight, "origin": "https://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


def test_chunked_body_over_the_limit_is_413(start: Start) -> None:
    def chunks(total: int) -> Iterator[bytes]:  # an iterator: httpx sends it chunked, no length
        yield b'{"id": "big", "title": "Big", "text": "'
        for _ in range(total // 1024):
            yield b"x" * 1024
        yield b'"}'

    with start(max_body_bytes=8192) as url, httpx.Client(base_url=url) as c:
        json_type = {"content-type": "application/json"}
        big = c.post("/documents", content=chunks(64 * 1024), headers=json_type)
        assert "content-length" not in big.request.headers
        assert big.status_code == 413 and big.json()["error"]["type"] == "payload_too_large"
    with start(max_body_bytes=8192) as url, httpx.Client(base_url=url) as c:
        small = c.post("/documents", content=chunks(4 * 1024), headers=json_type)
        assert small.status_code == 200, small.text
        assert c.get("/documents/big").json()["text"] == "x" * 4096


def test_docker_entry_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-entry.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )
    assert done.returncode == 64
    assert "QA_API_KEYS is not set" in done.stderr and "0.0.0.0" in done.stderr


def test_chat_page_cannot_be_framed(start: Start) -> None:
    with start() as url:
        page = httpx.get(f"{url}/")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_swagger_ui_is_served_from_local_files(start: Start) -> None:
    import re

    with start() as url, httpx.Client(base_url=url) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text and "https://" not in page.text
        assets = re.findall(r"""(?:href|src)=["'](/docs/assets/[^"']+)""", page.text)
        assert len(assets) >= 2
        for asset in assets:
            assert c.get(asset).status_code == 200, asset
        assert c.get("/redoc").status_code == 404  # ReDoc would load from a CDN


# --- secrets -----------------------------------------------------------------------------------


def test_redact_masks_keys_and_tokens() -> None:
    text = (
        "Incorrect API key provided: sk-proj-AbCdEf1234567890. "
        "Authorization: Bearer eyJhbGciOi.payload.sig; api_key=hunter2hunter2 "
        '{"token": "t0ps3cr3t"} my-own-key-99'
    )
    clean = redact(text, ["my-own-key-99"])
    for secret in ("AbCdEf123", "eyJhbGciOi", "hunter2", "t0ps3cr3t", "my-own-key-99"):
        assert secret not in clean
    assert "Incorrect API key provided" in clean and clean.count("[redacted]") >= 5


LEAKED = "sk-proj-LEAKED0123456789abcdef"
SENT_KEY = "local-llm-key-0042"  # the key we send upstream, echoed back by a careless server


def leaky_llm_app() -> FastAPI:
    """An OpenAI-compatible server that rejects every call, echoing secrets in its message."""
    app = FastAPI()
    message = f"Incorrect API key provided: {LEAKED}. You sent {SENT_KEY}."

    @app.api_route("/v1/{path:path}", methods=["GET", "POST"])
    async def reject(path: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": "auth"}}, status_code=401)

    return app


def test_llm_error_texts_are_redacted(
    settings: Settings, embedder: MiniLMEmbedder, fake_llm: FakeLLM
) -> None:
    with serve_app(leaky_llm_app()) as llm_url:
        changed = settings.model_copy(
            update={
                "llm_base_url": f"{llm_url}/v1",
                "llm_api_key": SENT_KEY,
                "api_keys": "ops-key-777",
            }
        )
        with (
            serve_app(create_app(changed, embedder=embedder)) as url,
            httpx.Client(base_url=url, timeout=30) as c,
        ):
            key = bearer("ops-key-777")
            assert c.post("/documents", json=ARTICLE, headers=key).status_code == 200
            failed = c.post("/ask", json=QUESTION)
            assert failed.status_code == 502
            assert "401" in failed.text and "[redacted]" in failed.text
            streamed = c.post("/ask", json={**QUESTION, "stream": True})
            assert "event: error" in streamed.text
            chat = c.post(
                "/v1/chat/completions", json={"messages": [{"role": "user", "content": "q?"}]}
            )
            assert chat.status_code == 502
            anonymous = c.get("/readyz")
            assert anonymous.status_code == 503
            assert anonymous.json()["checks"] == {"store": "ok", "llm": "unavailable"}
            trusted = c.get("/readyz", headers=key)
            assert "401" in trusted.json()["checks"]["llm"]
            for reply in (failed, streamed, chat, anonymous, trusted):
                assert LEAKED[:12] not in reply.text and SENT_KEY not in reply.text


def test_openapi_documents_bodies_errors_and_streams(start: Start) -> None:
    with start() as url:
        spec = httpx.get(f"{url}/openapi.json").json()
    paths = spec["paths"]
    body = paths["/documents"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    one, many = body["anyOf"]
    assert {"title", "text"} <= set(one["required"]) and many["items"] == one
    ask = paths["/ask"]["post"]["responses"]
    assert {"200", "400", "401", "403", "413", "415", "422", "502", "503", "504"} <= set(ask)
    assert "text/event-stream" in ask["200"]["content"]
    error_ref = ask["502"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorBody") and "ErrorBody" in spec["components"]["schemas"]
    assert "404" in paths["/documents/{doc_id}"]["get"]["responses"]
    assert "404" in paths["/documents/{doc_id}"]["delete"]["responses"]
    assert "502" in paths["/v1/chat/completions"]["post"]["responses"]
    top_k = spec["components"]["schemas"]["AskRequest"]["properties"]["top_k"]
    assert {"type": "integer", "minimum": 1} in top_k["anyOf"]
