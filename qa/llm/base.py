"""The LLM interface every backend implements (one abstract method, `stream`), its messages,
replies and errors. Adapters: qa/llm/openai_chat.py; the bounded queue: qa/llm/queue.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

Message = dict[str, str]


class LLMError(Exception):
    """The LLM could not be reached or answered with an error (HTTP 502)."""

    status = 502
    kind = "llm_error"


class LLMTimeout(LLMError):
    """The LLM did not answer in time (HTTP 504)."""

    status = 504
    kind = "llm_timeout"


@dataclass
class Completion:
    text: str
    model: str
    usage: dict[str, int] = field(default_factory=dict)


class LLM(ABC):
    """One abstract method: `stream`. The whole reply is the stream, consumed."""

    model: str

    @abstractmethod
    def stream(self, messages: list[Message], max_tokens: int) -> AsyncIterator[Completion]:
        """Yield the reply in pieces as they are generated; the model's name and the token
        usage arrive on the pieces that carry them (often the last)."""

    async def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        """Return the whole reply."""
        whole = Completion("", self.model)
        async for piece in self.stream(messages, max_tokens):
            whole.text += piece.text
            whole.model = piece.model or whole.model
            whole.usage = piece.usage or whole.usage
        return whole

    async def choose(self, messages: list[Message], options: Sequence[str]) -> dict[str, float]:
        """How likely the model's reply starts with each of `options` (one-word answers such as
        "yes"/"no" or option letters), normalised over them. This default reads a short reply:
        1 for the option it wrote; backends with token probabilities do better."""
        reply = (await self.complete(messages, 2)).text.strip().lower()
        return {o: float(reply.startswith(o.lower())) for o in options}

    async def ping(self) -> None:  # noqa: B027 - optional readiness check
        """Raise `LLMError` when the LLM is not reachable."""

    async def aclose(self) -> None:  # noqa: B027 - optional
        """Release connections."""
