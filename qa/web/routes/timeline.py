"""GET /timeline: the dated reports about a question or entity, one per story cluster."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from qa.domain import AS_OF, Filters, IsoDate
from qa.news.timeline import DEFAULT_LIMIT, MAX_LIMIT, Timeline, build_timeline
from qa.web.deps import ServicesDep, checked_question
from qa.web.errors import ApiError
from qa.web.schemas import READ_ERRORS, error_doc
from qa.web.security import READ

router = APIRouter()


def timeline_filters(
    source: str | None, after: IsoDate | None, before: IsoDate | None, as_of: IsoDate | None
) -> Filters | None:
    """The query's filters as /search takes them (422 when they contradict each other)."""
    if not (source or after or before or as_of):
        return None
    try:
        return Filters(source=source, published_after=after, published_before=before, as_of=as_of)
    except ValidationError as error:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        raise ApiError(422, "invalid_request", message) from error


@router.get(
    "/timeline",
    response_model=Timeline,
    dependencies=[READ],
    responses={**READ_ERRORS, 413: error_doc("the query is too long")},
)
async def timeline(
    svc: ServicesDep,
    q: Annotated[str, Query(description="a question or an entity, e.g. a person or a place")],
    source: Annotated[str | None, Query(description="only this publisher")] = None,
    after: Annotated[
        IsoDate | None, Query(description="published on or after (YYYY-MM-DD)")
    ] = None,
    before: Annotated[
        IsoDate | None, Query(description="published on or before (YYYY-MM-DD)")
    ] = None,
    as_of: Annotated[IsoDate | None, Query(description=AS_OF)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="story clusters")] = DEFAULT_LIMIT,
) -> Timeline:
    """The dated reports relevant to `q`, one per story cluster (copies of one wire story are
    one entry, listing the other outlets), oldest first, each with its most relevant sentence
    and that sentence's offsets in the article text."""
    query = checked_question(q, svc)
    filters = timeline_filters(source, after, before, as_of)
    return await run_in_threadpool(build_timeline, svc.qa.retriever, query, filters, limit)
