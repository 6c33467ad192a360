"""The LlamaIndex benchmark's adapters and figures (benchmarks/llamaindex.py), on fakes: no
model, no server. The adapters need llama-index-core (requirements-bench.lock, which `make test`
installs)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from benchmarks.llamaindex import Row, measure, summarise
from benchmarks.recording import Recorder
from index.embed import Embedder


class FakeClient:
    """`client.chat.completions.create` of the openai SDK: streams `reply` word by word, and
    answers a non-streamed request with usage (prompt tokens: words of the messages)."""

    def __init__(self, reply: str = "Squid Game [1]."):
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **request: Any) -> Any:
        self.requests.append(request)
        if request.get("stream"):
            return iter(
                SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=word))])
                for word in self.reply.split(" ")
            )
        words = sum(len(m["content"].split()) for m in request["messages"])
        return SimpleNamespace(usage=SimpleNamespace(prompt_tokens=words))


class FixedEmbedder(Embedder):
    dimension = 2

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] if "game" in t.lower() else [0.0, 1.0] for t in texts])


def test_the_chat_adapter_streams_the_servers_text_and_records_the_request() -> None:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from benchmarks.llamaindex_adapters import LocalChatLLM

    client, recorder = FakeClient(), Recorder()
    llm = LocalChatLLM(client=client, recorder=recorder, model="m", max_tokens=64)
    assert llm.metadata.is_chat_model and llm.metadata.num_output == 64
    message = ChatMessage(role=MessageRole.USER, content="Which show?")
    pieces = list(llm.stream_chat([message]))
    assert [p.delta for p in pieces] == ["Squid", "Game", "[1]."]
    assert pieces[-1].message.content == "SquidGame[1]."
    request = client.requests[0]
    assert request["temperature"] == 0 and request["max_tokens"] == 64
    assert request["messages"] == [{"role": "user", "content": "Which show?"}]
    (call,) = recorder.take()
    assert call.chunks == 3 and call.first is not None


def test_the_embedding_adapter_gives_the_projects_vectors() -> None:
    from benchmarks.llamaindex_adapters import ProjectEmbedding

    embedding = ProjectEmbedding(FixedEmbedder())
    assert embedding.get_query_embedding("Which game?") == [1.0, 0.0]
    assert embedding.get_text_embedding_batch(["a game", "a vote"]) == [[1.0, 0.0], [0.0, 1.0]]


def test_a_row_is_scored_by_choice_and_substring_and_counted_by_the_server() -> None:
    recorder, client = Recorder(), FakeClient()
    call = recorder.start([{"role": "user", "content": "four words of prompt"}])
    recorder.piece(call, "Squid")
    recorder.piece(call, " Game")
    question = {
        "id": "q1",
        "answer": "“Squid Game”",
        "choices": ["“Friends”", "“Squid Game”"],
    }
    row = Row("It is Squid Game.", "It is Friends.", 1.5, 3.0, recorder.take(), grounded=True)
    log = "Llama.generate: 3 prefix-match hit, remaining 1 prompt tokens to eval"
    measured = measure(row, question, client, "m", log)  # type: ignore[arg-type]
    assert measured["prompt_tokens"] == 4 and measured["prompt_tokens_read"] == 1
    assert (measured["raw_choice"], measured["raw_substring"]) == (1.0, 1.0)
    assert (measured["answer_choice"], measured["answer_substring"]) == (0.0, 0.0)
    summary = summarise([measured])
    assert summary["prompt_tokens_p50"] == 4 and summary["accuracy_choice"] == 0.0
    assert summary["raw"]["accuracy_choice"] == 1.0 and summary["decode_tok_s_p50"] is not None
