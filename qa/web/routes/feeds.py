"""/feeds: the live feeds that keep the archive current (qa/feeds/, docs/feeds.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from qa.feeds.manage import FeedError, Feeds, FeedView
from qa.feeds.poller import LeaseHeld, PollReport
from qa.web.errors import ApiError
from qa.web.schemas import COMMON_ERRORS, READ_ERRORS, FeedIn, FeedPollIn, error_doc
from qa.web.security import READ, WRITE

router = APIRouter()
NO_FEED: dict[int | str, dict[str, Any]] = {404: error_doc("no feed with this id or URL")}


def feeds(request: Request) -> Feeds:
    return request.app.state.feeds  # type: ignore[no-any-return]


FeedsDep = Annotated[Feeds, Depends(feeds)]


class FeedList(BaseModel):
    feeds: list[FeedView]


@router.get("/feeds", response_model=FeedList, dependencies=[READ], responses=READ_ERRORS)
async def list_feeds(registry: FeedsDep) -> FeedList:
    """Every feed with its state: when it was last polled, when it is due, and whether it is
    failing (failures in a row, the last error; a failing feed backs off)."""
    return FeedList(feeds=await run_in_threadpool(registry.list))


@router.post(
    "/feeds",
    response_model=FeedView,
    status_code=201,
    dependencies=[WRITE],
    responses={**COMMON_ERRORS, 200: {"description": "already added: interval and source updated"}},
)
async def add_feed(body: FeedIn, registry: FeedsDep) -> JSONResponse:
    """Add a feed; it is polled at once (by the poller in `qa serve`, if it runs), then every
    `every`. Adding a URL again changes its interval and source. A URL whose host is a private
    address is refused unless QA_FEEDS_ALLOW_PRIVATE allows it."""
    try:
        view, created = await run_in_threadpool(registry.add, body.url, body.every, body.source)
    except FeedError as error:
        raise ApiError(422, "invalid_feed", str(error)) from None
    return JSONResponse(view.model_dump(), status_code=201 if created else 200)


@router.post(
    "/feeds/poll",
    response_model=PollReport,
    dependencies=[WRITE],
    responses={**COMMON_ERRORS, 409: error_doc("another process holds the feeds lease: it polls")},
)
async def poll_feeds(registry: FeedsDep, body: FeedPollIn | None = None) -> PollReport:
    """One pass now, what `qa feeds poll` does: the feeds that are due (`all`: every feed),
    with what each poll found. Answers when the pass is done."""
    try:
        return await run_in_threadpool(registry.poll, bool(body and body.all))
    except LeaseHeld as held:
        raise ApiError(409, "feeds_busy", str(held)) from None


@router.delete(
    "/feeds/{feed:path}",
    status_code=204,
    dependencies=[WRITE],
    responses={**READ_ERRORS, **NO_FEED},
)
async def remove_feed(feed: str, registry: FeedsDep) -> Response:
    """Stop polling a feed, named by its id or its URL; the documents it brought stay."""
    if await run_in_threadpool(registry.remove, feed) is None:
        raise ApiError(404, "not_found", f"no feed {feed!r}")
    return Response(status_code=204)
