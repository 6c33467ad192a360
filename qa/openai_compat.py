"""OpenAI-compatible `/v1/chat/completions` and `/v1/models`, so chat apps can use this service
as a model. Sources travel in an extra `citations` field (in the final chunk when streaming)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from qa.answer import NOT_ANSWERED, check_answer
from qa.api import ServicesDep, checked_question, checked_top_k, ensure_llm_free, scoped
from qa.errors import ApiError
from qa.schemas import Answer, Filters, Passage, Turn

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
MODEL_ID = "newsqa"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: int | None = Field(None, ge=1)
    # extensions, sent with the SDK's `extra_body`
    as_of: date | None = None
    filters: Filters | None = None


def _split_conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    if messages[-1].role != "user":
        raise ApiError(422, "invalid_request", "the last message must come from the user")
    history = [
        Turn(role=m.role, content=m.text())  # type: ignore[arg-type]
        for m in messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[-1].text(), history


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.model_dump() for c in answer.citations],
        "grounded": answer.grounded,
        "condensed_question": answer.condensed_question,
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
    ensure_llm_free(svc)
    filters = scoped(body.filters, body.as_of)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        answer = await svc.qa.ask(question, top_k, filters, history)
        usage = answer.usage or {}
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
            "usage": {
                "prompt_tokens": usage.get("prompt_tokens", 0),
                "completion_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
            },
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

    async def events() -> AsyncIterator[dict[str, str]]:
        # Only verified sentences are sent: each completed sentence is checked against the
        # passages before it goes out, since a chat client cannot take text back.
        yield chunk({"role": "assistant", "content": ""})
        sent, raw = "", ""
        passages: list[Passage] = []
        async for event, data in svc.qa.ask_stream(question, top_k, filters, history):
            if event == "sources":
                passages = [Passage.model_validate(p) for p in data["passages"]]
            elif event == "delta":
                raw += data["text"]
                complete = raw[: raw.rfind(". ") + 1] if ". " in raw else ""
                verified = _verified_prefix(complete, passages)
                if verified.startswith(sent) and len(verified) > len(sent):
                    yield chunk({"content": verified[len(sent) :]})
                    sent = verified
            elif event == "done":
                answer = Answer.model_validate(data)
                final = answer.answer
                rest = final[len(sent) :] if final.startswith(sent) else ("" if sent else final)
                yield chunk({"content": rest} if rest else {}, "stop", **_extras(answer))
            elif event == "error":
                yield {"data": json.dumps({"error": data["error"], "citations": []})}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events(), ping=15)


def _verified_prefix(text: str, passages: list[Passage]) -> str:
    if not text.strip() or not passages:
        return ""
    checked = check_answer(text, passages)
    return checked.answer if checked.answer != NOT_ANSWERED else ""
