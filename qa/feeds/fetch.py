"""Fetching feeds and pages from the open web without becoming a way into the private one.

Every connection is checked where it is made: the host is resolved once, every address it
resolves to must be public (not loopback, private, link-local, multicast, reserved or
unspecified) unless private addresses are allowed, and the socket is opened to one of exactly
those addresses. A name that answers a public address to the check and a private one to the
connect (DNS rebinding) therefore cannot slip through: there is no second lookup. Redirects are
followed by hand, at most `MAX_REDIRECTS`, each new URL checked for its scheme and, when it
connects, for its addresses. Bodies are read in pieces and cut off past `max_bytes` (counted
after decompression, so a small gzip bomb is stopped too) or past the whole-fetch deadline (a
server that trickles a byte at a time never times out a single read). No proxy from the
environment is used: a proxy would resolve the names itself, past the check."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from qa.settings import IPNetwork, Settings

USER_AGENT = (
    "newsqa-feeds/0.1 (a news question-answering service's feed reader; polls each feed at "
    "its configured interval with ETag/Last-Modified)"
)
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """A fetch that did not give a usable response: the message says why, for the report."""


class Refused(FetchError):
    """A URL or address the fetcher will not touch (scheme, private address)."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchError(f"cannot resolve {host}: {error.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def forbidden(address: str) -> str | None:
    """Why a fetch must not go to this address, or None for a public one."""
    ip = _ip(address)
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-public"


def check_url(url: str) -> httpx.URL:
    """The URL parsed, if it is one the fetcher may ask for (http or https with a host)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise Refused(f"{url!r} is not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise Refused(f"{url!r}: only http and https URLs are fetched")
    if not parsed.host:
        raise Refused(f"{url!r} has no host")
    return parsed


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses that pass the check:
    public ones, and the non-public ones inside `allowed` (QA_FEEDS_ALLOW_PRIVATE)."""

    def __init__(self, allowed: Sequence[IPNetwork] = (), resolve: Resolver = system_resolver):
        self.allowed = tuple(allowed)
        self.resolve = resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises `Refused` if any of them is forbidden."""
        addresses = self.resolve(host.strip("[]"), port)
        if not addresses:
            raise FetchError(f"{host} has no address")
        for address in addresses:
            why = forbidden(address)
            if why and not any(_ip(address) in network for network in self.allowed):
                where = address if address == host.strip("[]") else f"{host} ({address})"
                raise Refused(
                    f"{where} is not a public address ({why}): not fetched unless "
                    "QA_FEEDS_ALLOW_PRIVATE allows it"
                )
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.addresses(host, port):  # the checked addresses, and only those
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as failed:
                error = failed
        assert error is not None
        raise error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over `GuardedBackend`. httpx has no parameter for httpcore's network
    backend, so the connection pool it builds is replaced by one that has it (same settings
    otherwise: TLS is verified against the URL's host name, as usual)."""

    def __init__(self, backend: GuardedBackend):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            network_backend=backend,
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 when the conditional headers matched
    headers: Mapping[str, str]
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Fetcher:
    """GET with the safety rules above; one instance is shared by the poller's threads."""

    def __init__(
        self,
        allowed: Sequence[IPNetwork] = (),
        timeout_s: float = 10.0,
        deadline_s: float = 30.0,
        max_bytes: int = 5_000_000,
        resolve: Resolver = system_resolver,
        cancelled: threading.Event | None = None,
    ):
        self.backend = GuardedBackend(allowed, resolve)
        self.deadline_s = deadline_s
        self.max_bytes = max_bytes
        self.cancelled = cancelled or threading.Event()  # set: fetches in flight give up
        self.client = httpx.Client(
            transport=GuardedTransport(self.backend),
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,  # followed by hand: counted, and each URL checked
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, cancelled: threading.Event | None = None) -> Fetcher:
        return cls(
            allowed=settings.feeds_private_networks,
            timeout_s=settings.feeds_timeout_s,
            deadline_s=settings.feeds_deadline_s,
            max_bytes=settings.feeds_max_bytes,
            cancelled=cancelled,
        )

    def close(self) -> None:
        self.client.close()

    def check_host(self, url: str) -> None:
        """Refuse now a URL that every fetch would refuse (bad scheme, private address)."""
        parsed = check_url(url)
        self.backend.addresses(
            parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
        )

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Fetched:
        """The final response after redirects: 2xx or 304, else `FetchError`."""
        start = time.monotonic()
        deadline = start + self.deadline_s
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with self.client.stream("GET", url, headers=headers) as reply:
                    if reply.status_code in REDIRECTS and "location" in reply.headers:
                        url = urljoin(url, reply.headers["location"])
                        continue
                    if reply.status_code == 304:
                        return Fetched(url, 304, reply.headers, b"", time.monotonic() - start)
                    if not 200 <= reply.status_code < 300:
                        raise FetchError(f"HTTP {reply.status_code} from {_short(url)}")
                    body = self._read(reply, deadline)
                    return Fetched(
                        url, reply.status_code, reply.headers, body, time.monotonic() - start
                    )
            except httpx.TimeoutException:
                raise FetchError(f"timed out fetching {_short(url)}") from None
            except httpx.HTTPError as error:
                raise FetchError(
                    f"{type(error).__name__} fetching {_short(url)}: {error}"
                ) from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {_short(url)}")

    def _read(self, reply: httpx.Response, deadline: float) -> bytes:
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                f"{_short(str(reply.url))} is {int(declared)} bytes; the limit is "
                f"{self.max_bytes} (QA_FEEDS_MAX_BYTES)"
            )
        body = bytearray()
        for piece in reply.iter_bytes():  # as they arrive: a chunk size would wait to fill it
            body += piece
            if len(body) > self.max_bytes:
                raise FetchError(
                    f"{_short(str(reply.url))} is over {self.max_bytes} bytes (QA_FEEDS_MAX_BYTES)"
                )
            if time.monotonic() > deadline:
                raise FetchError(
                    f"{_short(str(reply.url))} took over {self.deadline_s:g} s "
                    "(QA_FEEDS_DEADLINE_S)"
                )
            if self.cancelled.is_set():
                raise FetchError("stopped: the server is shutting down")
        return bytes(body)


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"[:120]
