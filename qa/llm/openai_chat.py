"""The LLM adapter for any OpenAI-compatible server (OpenAI, llama.cpp, vLLM, ...), through the
`openai` SDK; upstream failures become LLMError / LLMTimeout with secrets redacted."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from typing import cast

import httpx
import openai
from openai import AsyncStream
from openai.types.chat import ChatCompletionChunk

from qa.llm.base import LLM, Completion, LLMError, LLMTimeout, Message
from qa.redact import redact


class OpenAIChat(LLM):
    def __init__(
        self,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout_s: float = 120.0,
        temperature: float = 0.1,
    ):
        self.model = model
        self.temperature = temperature
        self._secrets = (api_key,)
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )

    async def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        try:
            chunks = await self.client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=self.temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            stream = cast(AsyncStream[ChatCompletionChunk], chunks)
            async with stream:
                async for chunk in stream:
                    text = chunk.choices[0].delta.content or "" if chunk.choices else ""
                    usage = {}
                    if chunk.usage:
                        usage = {
                            "prompt_tokens": chunk.usage.prompt_tokens,
                            "completion_tokens": chunk.usage.completion_tokens,
                        }
                    if text or usage:
                        yield Completion(text, chunk.model or self.model, usage)
        except _UPSTREAM as exc:  # our own bugs are not "the LLM failed"
            raise _translate(exc, self._secrets) from exc

    async def choose(self, messages: list[Message], options: Sequence[str]) -> dict[str, float]:
        """Each option's share of the first token's top probabilities (servers that give none:
        the word it wrote)."""
        try:
            reply = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=1,
                temperature=0,
                logprobs=True,
                top_logprobs=10,
            )
        except _UPSTREAM as exc:
            raise _translate(exc, self._secrets) from exc
        choice = reply.choices[0] if reply.choices else None
        first = choice.logprobs.content if choice and choice.logprobs else None
        if not first:
            word = (choice.message.content or "").strip().lower() if choice else ""
            return {o: float(word.startswith(o.lower())) for o in options}
        odds = dict.fromkeys((o.lower() for o in options), 0.0)
        for candidate in first[0].top_logprobs:
            word = candidate.token.strip().lower().rstrip(".")
            if word in odds:
                odds[word] += math.exp(candidate.logprob)
        total = sum(odds.values())
        return {o: odds[o.lower()] / total if total else 0.0 for o in options}

    async def ping(self) -> None:
        try:
            await self.client.models.list(timeout=5.0)
        except _UPSTREAM as exc:
            raise _translate(exc, self._secrets) from exc

    async def aclose(self) -> None:
        await self.client.close()


# errors that are the LLM server's (or the network's) fault; anything else is our bug -> 500
_UPSTREAM = (openai.OpenAIError, httpx.HTTPError)


def _translate(exc: Exception, secrets: tuple[str, ...] = ()) -> LLMError:
    """An LLMError whose message is safe to show: the upstream text with secrets masked."""
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeout(f"the LLM did not answer in time: {redact(str(exc), secrets)}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"cannot reach the LLM: {redact(str(exc), secrets)}")
    if isinstance(exc, openai.APIStatusError):
        detail = redact(exc.message, secrets)
        return LLMError(f"the LLM answered HTTP {exc.status_code}: {detail}")
    return LLMError(f"LLM call failed: {redact(str(exc), secrets)}")
