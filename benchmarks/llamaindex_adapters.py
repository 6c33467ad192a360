"""LlamaIndex's two plug-in points, over this project's pieces, for benchmarks/llamaindex.py only
(llama-index-core comes from requirements-bench.lock; nothing in qa/ or index/ imports this):

- `ProjectEmbedding`: LlamaIndex's BaseEmbedding over this project's MiniLM embedder
  (index/embed.py), so both systems search with the same vectors and nothing is downloaded.
- `LocalChatLLM`: a chat model over the OpenAI-compatible llama.cpp server through the openai SDK
  (temperature 0, streamed, each request recorded). llama-index-llms-openai-like would be the
  usual choice, but every release of it needs openai<3 and the runtime lock has openai 3.
  Its metadata says it is a chat model, so LlamaIndex sends its prompts as chat messages (the
  server applies the model's chat template), as OpenAILike(is_chat_model=True) would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr

from benchmarks.recording import Recorder, chat_stream
from index.embed import Embedder
from qa.llm.base import Message


class ProjectEmbedding(BaseEmbedding):
    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any):
        super().__init__(model_name="all-MiniLM-L6-v2 (int8 ONNX)", **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "project_minilm"

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed([query])[0]]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_query_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._embedder.embed(texts)]


def to_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    return [{"role": m.role.value, "content": m.content or ""} for m in messages]


class LocalChatLLM(CustomLLM):
    model: str
    max_tokens: int
    context_window: int = 4096
    _client: Any = PrivateAttr()
    _recorder: Recorder = PrivateAttr()

    def __init__(self, client: Any, recorder: Recorder, **kwargs: Any):
        super().__init__(**kwargs)
        self._client = client
        self._recorder = recorder

    @classmethod
    def class_name(cls) -> str:
        return "local_chat"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=self.model,
        )

    def _stream(self, messages: list[Message]) -> Any:
        return chat_stream(self._client, self.model, messages, self.max_tokens, self._recorder)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._stream(to_messages(messages)))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for piece in self._stream(to_messages(messages)):
                text += piece
                message = ChatMessage(role=MessageRole.ASSISTANT, content=text)
                yield ChatResponse(message=message, delta=piece)

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = "".join(self._stream([{"role": "user", "content": prompt}]))
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            text = ""
            for piece in self._stream([{"role": "user", "content": prompt}]):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()
