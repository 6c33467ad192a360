"""Who may call what, as FastAPI dependencies (`dependencies=[WRITE]` on a route).

With `QA_API_KEYS` set, writes need `Authorization: Bearer <key>` (401 without one, 403 with a
wrong one), and so do reads when `QA_AUTH_READS=true`. With no keys, writes are accepted only
from this machine (loopback client and loopback Host, against DNS rebinding). Request bodies
must be `application/json`: a cross-site form or `text/plain` post cannot reach a route."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.settings import Settings
from qa.web.errors import ApiError

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def key_matches(token: str, keys: list[str]) -> bool:
    # every key is compared, in constant time each, so timing says nothing about which is close
    found = False
    for key in keys:
        found |= hmac.compare_digest(token.encode(), key.encode())
    return found


def is_local(request: Request) -> bool:
    client = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    host = request.headers.get("host", "").lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return address.is_loopback and name in _LOCAL_NAMES


def is_trusted(request: Request, settings: Settings) -> bool:
    """A caller allowed to write: a valid key, or (with no keys configured) this machine."""
    keys = settings.api_key_list
    if not keys:
        return is_local(request)
    token = bearer_token(request)
    return token is not None and key_matches(token, keys)


def _check(request: Request, write: bool, key_always: bool = False) -> None:
    settings: Settings = request.app.state.settings
    keys = settings.api_key_list
    if write or settings.auth_reads or (key_always and keys):
        if not keys and not is_local(request):
            raise ApiError(
                403,
                "forbidden",
                "without QA_API_KEYS this server accepts "
                + ("writes" if write else "requests")
                + " only from this machine; set QA_API_KEYS and send Authorization: Bearer <key>",
            )
        if keys:
            token = bearer_token(request)
            if token is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    "send an API key as Authorization: Bearer <key>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if not key_matches(token, keys):
                raise ApiError(403, "forbidden", "the API key is not valid")
    if request.method in _BODY_METHODS:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise ApiError(
                415, "unsupported_media_type", "send the body as Content-Type: application/json"
            )


def _write(request: Request) -> None:
    _check(request, write=True)


def _read(request: Request) -> None:
    _check(request, write=False)


def check_mcp(request: Request) -> None:
    """/mcp is a read route, except that with QA_API_KEYS set it always needs a key (as if
    QA_AUTH_READS were on): an MCP client is a program configured once with its key, and its
    tools spend the LLM's time without a person at a page."""
    _check(request, write=False, key_always=True)


class Guarded:
    """An ASGI app (a raw ASGI route, which route dependencies do not reach) behind a check
    that raises `ApiError`: the app's error handlers answer it, as for any route."""

    def __init__(self, app: ASGIApp, check: Callable[[Request], None]):
        self.app, self.check = app, check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.check(Request(scope))
        await self.app(scope, receive, send)


WRITE = Depends(_write)
READ = Depends(_read)
