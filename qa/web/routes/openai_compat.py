"""OpenAI-compatible `/v1/chat/completions` and `/v1/models`, so chat apps can use this service
as a model. Sources travel in an extra `citations` field (in the final chunk when streaming);
the best quotes, ranked before the answer, in an extra `evidence` field (on the first chunk
when streaming). `"mode": "extractive"` in the extra body answers with those quotes and no LLM
call; when the LLM fails, a stream ends with the extractive answer, marked
`"fallback": "llm_unavailable"` beside the `error`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import structlog
from fastapi import APIRouter
from pydantic import Field, StrictInt
from sse_starlette.sse import EventSourceResponse

from index.load import ValidText
from qa.checking.answer import with_markers
from qa.domain import MAX_TURN_CHARS, Answer, Turn
from qa.pipeline import Checked, Done, Event, Evidence, Failed, Sources
from qa.settings import AnswerMode
from qa.web.deps import (
    ServicesDep,
    answer_mode,
    checked_question,
    checked_top_k,
    ensure_llm_free,
)
from qa.web.errors import ApiError
from qa.web.schemas import MODE, Scoped
from qa.web.streaming import failure_body, internal_error_body, started

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
log = structlog.get_logger(__name__)
MODEL_ID = "newsqa"


class ChatMessage(ValidText):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(Scoped):  # as_of, filters and top_k: extensions, sent in `extra_body`
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: StrictInt | None = Field(None, ge=1)
    mode: AnswerMode | None = Field(None, description=MODE)


def _split_conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    if messages[-1].role != "user":
        raise ApiError(422, "invalid_request", "the last message must come from the user")
    # chat clients resend the whole conversation: a long earlier message is cut to the
    # limit of a turn (its end, nearest the question), never a reason to refuse the request
    history = [
        Turn(role=m.role, content=m.text()[-MAX_TURN_CHARS:])  # type: ignore[arg-type]
        for m in messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[-1].text(), history


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.model_dump() for c in answer.citations],
        "grounded": answer.grounded,
        "support_score": answer.support_score,
        "sentences": [
            s.model_dump(include={"text", "supported", "score", "verdict", "reason"})
            for s in answer.sentences
        ],
        "condensed_question": answer.condensed_question,
        "evidence": [q.model_dump() for q in answer.evidence],
        "mode": answer.mode,
        "fallback": answer.fallback,
        "conflicts": [c.model_dump() for c in answer.conflicts],
        "as_of": answer.as_of,
    }


@router.get("/models")
async def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsqa"}],
    }


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, svc: ServicesDep) -> Any:
    raw_question, history = _split_conversation(body.messages)
    question = checked_question(raw_question, svc)
    top_k = checked_top_k(body.top_k, svc)
    mode = answer_mode(body.mode, svc)
    if mode == "generative":
        ensure_llm_free(svc)
    filters = body.scope()
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        answer = await svc.qa.ask(question, top_k, filters, history, mode)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(answer),
            **_extras(answer),
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, str]:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return {"data": json.dumps(payload)}

    async def chunks(events: AsyncIterator[Event]) -> AsyncIterator[dict[str, str]]:
        # A chat client cannot take text back: a sentence goes out once it is checked and
        # supported; the first chunk carries the evidence (when ranked), the final one the
        # sources.
        opened = False
        sent = 0
        try:
            async for event in events:
                if not opened and isinstance(event, Evidence):
                    quotes = [q.model_dump() for q in event.quotes]
                    yield chunk({"role": "assistant", "content": ""}, evidence=quotes)
                    opened = True
                    continue
                if not opened and not isinstance(event, Sources):
                    yield chunk({"role": "assistant", "content": ""})
                    opened = True
                if isinstance(event, Checked) and event.sentence.supported:
                    c = event.sentence
                    yield chunk({"content": (" " if sent else "") + with_markers(c.claim, c.cited)})
                    sent += 1
                elif isinstance(event, Done):
                    answer = event.answer
                    rest = {} if sent else {"content": answer.answer}
                    if sent and answer.staleness:  # sent sentences cannot be dated after
                        rest = {"content": f" {answer.staleness}"}
                    yield chunk(rest, "stop", usage=_usage(answer), **_extras(answer))
                elif isinstance(event, Failed):
                    log.error(
                        "stream_failed", error=str(event.error), status=event.error.error.status
                    )
                    fallback = event.error.fallback
                    if fallback is not None:  # the quotes, as the answer's last words
                        text = fallback.answer if not sent else f"\n\n{fallback.answer}"
                        yield chunk({"content": text}, "stop", **_extras(fallback))
                    yield {"data": json.dumps({"citations": [], **failure_body(event.error)})}
        except Exception as exc:  # the headers are gone: end with an error chunk
            log.exception("stream_failed")
            yield {"data": json.dumps(internal_error_body(exc))}
        yield {"data": "[DONE]"}

    events = await started(svc.qa.events(question, top_k, filters, history, mode))
    return EventSourceResponse(chunks(events), ping=15)


def _usage(answer: Answer) -> dict[str, int]:
    usage = answer.usage or {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
