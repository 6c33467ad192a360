"""Safe fetching over real HTTP on 127.0.0.1: schemes, the address check where the socket is
opened (and only the checked address is connected to), redirects, time and size limits."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator

import pytest

from qa.feeds.fetch import USER_AGENT, Fetcher, FetchError, Refused, forbidden
from tests.utils.feeds import FeedServer, Page, feed_server

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        s.pages["/ok"] = Page(b"<p>fine</p>")
        yield s


def fetcher(**options: object) -> Fetcher:
    values: dict[str, object] = {"allowed": LOOPBACK, "timeout_s": 1.0, "deadline_s": 3.0}
    values.update(options)
    return Fetcher(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_are_refused(address: str, kind: str | None) -> None:
    assert forbidden(address) == kind


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "http:///path"])
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(Refused):
        fetcher().get(url)


def test_loopback_is_refused_unless_allowed(server: FeedServer) -> None:
    strict = Fetcher()
    for url in (server.url("/ok"), server.url("/ok").replace("127.0.0.1", "localhost")):
        with pytest.raises(Refused, match=r"not a public address \(loopback\)"):
            strict.get(url)
    assert server.hits == [], "refused before any connection"
    assert fetcher().get(server.url("/ok")).body == b"<p>fine</p>"


def test_the_socket_goes_to_the_checked_address(server: FeedServer) -> None:
    """The name is resolved once, by the check, and the connection goes to that address: a
    name only the given resolver knows is fetched, with its own Host header."""
    resolved: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    port = server.httpd.server_address[1]
    reply = fetcher(resolve=resolve).get(f"http://news.invalid:{port}/ok")
    assert reply.body == b"<p>fine</p>" and resolved == ["news.invalid"]
    assert server.hits[0].headers["host"] == f"news.invalid:{port}"
    assert server.hits[0].headers["user-agent"] == USER_AGENT and "newsqa" in USER_AGENT
    # and the same name resolving to a private address is refused, with no connection
    sneaky = fetcher(resolve=lambda host, port: ["10.0.0.7"])
    with pytest.raises(
        Refused, match=r"news.invalid \(10.0.0.7\) is not a public address \(private\)"
    ):
        sneaky.get(f"http://news.invalid:{port}/ok")
    assert len(server.hits) == 1


def test_a_name_with_one_private_address_among_public_ones_is_refused(server: FeedServer) -> None:
    mixed = fetcher(allowed=(), resolve=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(Refused, match="127.0.0.1"):
        mixed.get("http://mixed.invalid/ok")


def test_redirects_are_followed_and_each_target_is_checked(server: FeedServer) -> None:
    for n in range(5):
        server.pages[f"/hop{n}"] = Page(status=302, headers={"Location": f"/hop{n + 1}"})
    server.pages["/hop5"] = Page(b"arrived")
    reply = fetcher().get(server.url("/hop0"))
    assert reply.body == b"arrived" and reply.url == server.url("/hop5")
    server.pages["/hop5"] = Page(status=301, headers={"Location": "/ok"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetcher().get(server.url("/hop0"))
    server.pages["/meta"] = Page(status=307, headers={"Location": "http://169.254.169.254/latest"})
    with pytest.raises(Refused, match=r"169.254.169.254 is not a public address \(link-local\)"):
        fetcher().get(server.url("/meta"))
    server.pages["/file"] = Page(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(Refused, match="only http and https"):
        fetcher().get(server.url("/file"))


def test_error_statuses_are_errors(server: FeedServer) -> None:
    server.pages["/broken"] = Page(b"oops", status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        fetcher().get(server.url("/broken"))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher().get(server.url("/missing"))


def test_a_slow_server_times_out(server: FeedServer) -> None:
    server.pages["/slow"] = Page(b"late", delay_s=2.0)
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetcher(timeout_s=0.3).get(server.url("/slow"))
    assert time.monotonic() - start < 1.5


def test_a_trickle_is_cut_at_the_deadline(server: FeedServer) -> None:
    """Each piece comes well within the read timeout; the whole never would."""
    server.pages["/trickle"] = Page(b"x" * 100, repeat=100, trickle_s=0.1)
    start = time.monotonic()
    with pytest.raises(FetchError, match="took over 1 s"):
        fetcher(timeout_s=1.0, deadline_s=1.0).get(server.url("/trickle"))
    assert time.monotonic() - start < 2.5


def test_a_huge_body_is_cut_off(server: FeedServer) -> None:
    server.pages["/huge"] = Page(b"y" * 65_536, repeat=200)  # 13 MB, no Content-Length
    with pytest.raises(FetchError, match="over 100000 bytes"):
        fetcher(max_bytes=100_000).get(server.url("/huge"))
    server.pages["/declared"] = Page(b"z" * 200_000)  # says so up front: not read at all
    with pytest.raises(FetchError, match="is 200000 bytes; the limit is 100000"):
        fetcher(max_bytes=100_000).get(server.url("/declared"))
    assert fetcher(max_bytes=300_000).get(server.url("/declared")).body == b"z" * 200_000


def test_conditional_get_gives_304(server: FeedServer) -> None:
    server.pages["/feed"] = Page(b"<rss/>", etag='"v1"')
    first = fetcher().get(server.url("/feed"))
    assert first.status == 200 and first.header("etag") == '"v1"'
    again = fetcher().get(server.url("/feed"), {"If-None-Match": '"v1"'})
    assert again.status == 304 and again.body == b""
