"""Streams that have sent their headers: the answer's events formatted as /ask's SSE, and the
rule that a failure after the headers ends the stream with an `error` event, never a silent cut."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog

from qa.pipeline import AnswerFailed, Checked, Delta, Done, Event, Evidence, Sources

log = structlog.get_logger(__name__)


async def started(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """Run the stream up to its first event (retrieval) before any header is sent, so a bad
    filter or an unreachable store is an HTTP error, not an empty 200 stream."""
    first = await anext(events)

    async def chained() -> AsyncIterator[Event]:
        yield first
        async for event in events:
            yield event

    return chained()


async def sse_events(events: AsyncIterator[Event]) -> AsyncIterator[dict[str, str]]:
    """/ask's SSE: sources, evidence (the best quotes, before any answer), delta*, sentence*
    (each checked as it completes) with the citations it brings, done (the checked answer) -
    or error (with the extractive answer when the LLM failed), also for our own failures."""
    cited: set[tuple[int, int, int]] = set()
    try:
        async for event in events:
            if isinstance(event, Sources):
                yield _sse("sources", {
                    "question": event.question,
                    "condensed_question": event.condensed_question,
                    "passages": [p.model_dump() for p in event.passages],
                })  # fmt: skip
            elif isinstance(event, Evidence):
                yield _sse("evidence", {"quotes": [q.model_dump() for q in event.quotes]})
            elif isinstance(event, Delta):
                yield _sse("delta", {"text": event.text, "pending": event.pending})
            elif isinstance(event, Checked):
                yield _sse("sentence", event.data.model_dump())
                for c in event.citations:
                    if (c.n, c.start, c.end) not in cited:
                        cited.add((c.n, c.start, c.end))
                        yield _sse("citation", c.model_dump())
            elif isinstance(event, Done):
                yield _sse("done", event.answer.model_dump())
            else:
                log.error("stream_failed", error=str(event.error), status=event.error.error.status)
                yield _sse("error", failure_body(event.error))
    except Exception as exc:  # the headers are gone: say so in the stream, and log it
        log.exception("stream_failed")
        yield _sse("error", internal_error_body(exc))


def _sse(event: str, data: Any) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False)}


def failure_body(failure: AnswerFailed) -> dict[str, Any]:
    """The error, its status and the passages; and, when evidence was ranked, the extractive
    answer served in the LLM's place (its fields: answer, citations, ..., "mode": "extractive",
    "fallback": "llm_unavailable")."""
    fallback = failure.fallback.model_dump() if failure.fallback else {}
    return {
        **fallback,
        "error": {"type": failure.error.kind, "message": str(failure)},
        "status": failure.error.status,
        "passages": [p.model_dump() for p in failure.passages],
    }


def internal_error_body(exc: Exception) -> dict[str, Any]:
    kind = "store_unavailable" if isinstance(exc, httpx.TransportError) else "internal_error"
    status = 503 if kind == "store_unavailable" else 500
    return {
        "error": {"type": kind, "message": "the answer failed; see the server log"},
        "status": status,
    }
