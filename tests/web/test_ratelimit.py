"""Rate limit: the token bucket itself (with a fake clock), who counts as one client, and the
429 over real HTTP."""

from pathlib import Path

import httpx
import pytest

from index.embed import MiniLMEmbedder
from qa.settings import parse_rate
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from qa.web.ratelimit import TokenBucketLimiter, client_identity
from tests.utils.support import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(*parse_rate("3/minute"), clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(20.0)  # one token every 20 s
    assert limiter.take("b") == 0  # another client has its own bucket
    clock.now += 20
    assert limiter.take("a") == 0
    assert limiter.take("a") > 0
    clock.now += 3600  # refills to the burst size, not beyond
    assert [limiter.take("a") for _ in range(4)][-1] > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60/minute", (60, 60.0)), (" 5 / second ", (5, 1.0)), ("1000/hours", (1000, 3600.0))],
)
def test_parse_rate(text: str, expected: tuple[int, float]) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["60", "fast", "0/minute", "10/fortnight"])
def test_bad_rate_is_refused_with_the_format(text: str) -> None:
    with pytest.raises(ValueError, match="COUNT/PERIOD"):
        parse_rate(text)


def test_identity_is_a_known_key_or_the_address() -> None:
    def scope(auth: str | None) -> dict:
        headers = [(b"authorization", auth.encode())] if auth else []
        return {"type": "http", "headers": headers, "client": ("10.0.0.7", 5555)}

    keys = frozenset({"k-one", "k-two"})
    one, two = (
        client_identity(scope("Bearer k-one"), keys),
        client_identity(scope("Bearer k-two"), keys),
    )
    assert one.startswith("key:") and one != two and "k-one" not in one
    # a made-up key must not buy a fresh bucket
    assert client_identity(scope("Bearer made-up"), keys) == "ip:10.0.0.7"
    assert client_identity(scope(None), keys) == "ip:10.0.0.7"


def test_over_the_limit_is_429_json_with_retry_after(
    tmp_path: Path, embedder: MiniLMEmbedder, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    settings = make_settings(tmp_path, fake_llm_server[1], rate_limit="3/minute")
    with (
        serve_app(create_app(settings, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        codes = [c.get("/documents").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = c.post("/search", json={"query": "anything"})
        assert limited.status_code == 429
        assert limited.json()["error"]["type"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        # health, readiness and metrics stay reachable for the operator
        assert c.get("/healthz").status_code == 200
        metrics = c.get("/metrics")
        assert metrics.status_code == 200 and "qa_rate_limited_total 1.0" in metrics.text


def test_rate_limit_can_be_switched_off(
    tmp_path: Path, embedder: MiniLMEmbedder, fake_llm_server: tuple[FakeLLM, str]
) -> None:
    settings = make_settings(tmp_path, fake_llm_server[1], rate_limit="off")
    assert settings.rate_limit is None
    with (
        serve_app(create_app(settings, embedder=embedder)) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        assert {c.get("/documents").status_code for _ in range(70)} == {200}
