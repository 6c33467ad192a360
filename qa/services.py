"""The shared pieces a running app (or the CLI) needs, built once from settings."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from index.embed import Embedder, MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.lazy import LazyStore
from index.lock import DataDirLock
from index.store import Store, make_client
from qa.llm import LLM, OpenAIChat
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieve import RetrievalConfig, Retriever
from qa.settings import Settings

KEYWORD_FILE = "keyword.sqlite3"  # in settings.keyword_dir


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: Store
    llm: LLM
    index: Index  # the one writer: every write to the store goes through it
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


def build_index(settings: Settings, embedder: Embedder | None, store: Store) -> Index:
    """The index writer (read-only without an embedder: deletes need none)."""
    ingestor = (
        Ingestor(embedder, store, settings.chunk_tokens, settings.chunk_overlap)
        if embedder is not None
        else None
    )
    return Index(store, ingestor, settings.keyword_dir / KEYWORD_FILE)


def data_dir_lock(settings: Settings, role: str) -> AbstractContextManager[object]:
    """Held while a process writes an embedded Chroma (a Chroma server needs none)."""
    if settings.chroma_url:
        return nullcontext()
    return DataDirLock(settings.data_dir, role)


def build_retriever(
    settings: Settings, embedder: Embedder, store: Store, index: Index | None = None
) -> Retriever:
    config = RetrievalConfig(
        mode=settings.retrieval,
        passages_per_article=settings.passages_per_article,
        recency_weight=settings.recency_weight,
        recency_half_life_days=settings.recency_half_life_days,
    )
    index = index or build_index(settings, embedder, store)
    return Retriever(embedder, store, index, config)


def build_services(
    settings: Settings,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    store: Store | None = None,
) -> Services:
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    llm = llm or build_llm(settings)
    index = build_index(settings, embedder, store)
    qa = QAService(
        build_retriever(settings, embedder, store, index),
        llm,
        Prompts.load(),
        settings.llm_max_tokens,
    )
    return Services(settings, embedder, store, llm, index, qa)
