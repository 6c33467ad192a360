"""The shared pieces a running app (or the CLI) needs, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from index.embed import Embedder, MiniLMEmbedder
from index.ingest import Ingestor
from index.keyword import KeywordIndex
from index.lazy import LazyStore
from index.store import Store, make_client
from qa.llm import LLM, OpenAIChat
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieve import RetrievalConfig, Retriever
from qa.settings import Settings


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: Store
    llm: LLM
    ingestor: Ingestor
    qa: QAService


def build_store(settings: Settings) -> Store:
    if settings.chroma_url:  # a server may come up after us: connect on first use
        url = settings.chroma_url
        return LazyStore(lambda: make_client(settings.chroma_dir, url), settings.collection)
    return Store(make_client(settings.chroma_dir), settings.collection)


def build_llm(settings: Settings) -> LLM:
    return OpenAIChat(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        temperature=settings.llm_temperature,
    )


def build_embedder(settings: Settings) -> Embedder:
    return MiniLMEmbedder(settings.embed_model_dir, batch_size=settings.embed_batch_size)


def build_retriever(settings: Settings, embedder: Embedder, store: Store) -> Retriever:
    config = RetrievalConfig(
        mode=settings.retrieval,
        passages_per_article=settings.passages_per_article,
        recency_weight=settings.recency_weight,
        recency_half_life_days=settings.recency_half_life_days,
    )
    return Retriever(embedder, store, KeywordIndex(store, settings.keyword_dir), config)


def build_services(
    settings: Settings,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    store: Store | None = None,
) -> Services:
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    llm = llm or build_llm(settings)
    ingestor = Ingestor(embedder, store, settings.chunk_tokens, settings.chunk_overlap)
    qa = QAService(
        build_retriever(settings, embedder, store), llm, Prompts.load(), settings.llm_max_tokens
    )
    return Services(settings, embedder, store, llm, ingestor, qa)
