"""The shared pieces a running app (or the CLI) needs, built once from settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from index.embed import Embedder, MiniLMEmbedder
from index.index import Index
from index.ingest import Ingestor
from index.lazy import LazyStore
from index.load import Document
from index.lock import DataDirLock
from index.rerank import CrossEncoder
from index.store import Store, make_client
from qa.checking.judge import Judge
from qa.domain import IngestResult
from qa.jobs import IngestStopped, JobRunner, StoppableEmbedder
from qa.llm.base import LLM
from qa.llm.openai_chat import OpenAIChat
from qa.llm.queue import BoundedLLM
from qa.metrics import Metrics
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.retrieval.config import RetrievalConfig
from qa.retrieval.evidence import EmbedderScorer, EvidenceRanker, SentenceScorer
from qa.retrieval.retriever import Retriever
from qa.settings import Settings
from qa.trim import Trimmer

KEYWORD_FILE = "keyword.sqlite3"  # in settings.keyword_dir


@dataclass
class Services:
    settings: Settings
    embedder: Embedder
    store: Store
    llm: BoundedLLM
    index: Index  # the one writer: every write to the store goes through it
    qa: QAService
    metrics: Metrics = field(default_factory=Metrics)
    stopping: threading.Event = field(default_factory=threading.Event)
    jobs: JobRunner = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = JobRunner(
            lambda docs, on_done: self.write_documents(docs, on_done).model_dump(),
            self.stopping,
            self.metrics,
        )

    def write_documents(
        self, docs: list[Document], on_done: Callable[[], None] | None = None
    ) -> IngestResult:
        """The one place the API writes documents (request or job), through the index writer:
        searchable when it returns. Blocking; stops between documents once `stopping` is set."""

        def step() -> None:
            if on_done:
                on_done()
            if self.stopping.is_set():
                raise IngestStopped("the server is stopping")

        report = self.index.write(docs, on_done=step)
        self.metrics.ingested.inc(len(report.added) + len(report.updated))
        return IngestResult(
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            chunks=report.chunks,
        )


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


def build_qa(settings: Settings, retriever: Retriever, llm: LLM) -> QAService:
    budget = settings.passage_budget
    trimmer = Trimmer(budget) if budget else None
    prompts = Prompts.load(settings.prompts_dir)
    judge = build_judge(settings, llm, prompts)
    evidence = build_evidence(settings, retriever.embedder)
    if settings.answer_mode == "extractive" and evidence is None:
        raise ValueError("QA_ANSWER_MODE=extractive needs QA_EVIDENCE (cross-encoder or embedder)")
    return QAService(
        retriever,
        llm,
        prompts,
        settings.llm_max_tokens,
        trimmer,
        judge,
        evidence,
        settings.answer_mode,
        conflicts=settings.conflicts,
        recency_boost=settings.recency_boost,
        stale_after_days=settings.stale_after_days,
        support_threshold=settings.support_threshold,
    )


def build_evidence(settings: Settings, embedder: Embedder) -> EvidenceRanker | None:
    """The sentence ranker of the evidence event (the cross-encoder loads on first use)."""
    if settings.evidence == "off":
        return None
    scorer: SentenceScorer = (
        CrossEncoder() if settings.evidence == "cross-encoder" else EmbedderScorer(embedder)
    )
    return EvidenceRanker(scorer, settings.evidence_count)


def build_judge(settings: Settings, llm: LLM, prompts: Prompts | None = None) -> Judge | None:
    """The judge asks `llm` (the answering LLM), or the server QA_JUDGE_BASE_URL names."""
    if settings.judge == "off":
        return None
    return Judge(
        build_judge_llm(settings) or llm,
        prompts or Prompts.load(settings.prompts_dir),
        settings.judge,
        settings.judge_threshold,
        settings.judge_prompt,
    )


def build_judge_llm(settings: Settings) -> LLM | None:
    """The judge's own OpenAI-compatible server, when QA_JUDGE_BASE_URL names one (its key
    and model default to the answering LLM's); None: the judge asks the answering LLM."""
    if not settings.judge_base_url:
        return None
    return OpenAIChat(
        base_url=settings.judge_base_url,
        api_key=settings.judge_api_key or settings.llm_api_key,
        model=settings.judge_model or settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        temperature=settings.llm_temperature,
    )


def build_services(
    settings: Settings,
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    store: Store | None = None,
    metrics: Metrics | None = None,
    stopping: threading.Event | None = None,
) -> Services:
    """`stopping`: set on SIGTERM, it ends a running ingest between documents."""
    metrics = metrics or Metrics()
    stopping = stopping or threading.Event()
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    queued = BoundedLLM(llm or build_llm(settings), settings.llm_slots, settings.llm_queue, metrics)
    # writes embed through a StoppableEmbedder: SIGTERM ends a long write within seconds
    index = build_index(settings, StoppableEmbedder(embedder, stopping), store)
    retriever = build_retriever(settings, embedder, store, index)
    # timed here, so the answer path itself stays free of metrics
    retriever.search = metrics.timed(metrics.retrieval_seconds, retriever.search)  # type: ignore[method-assign]
    qa = build_qa(settings, retriever, queued)
    return Services(settings, embedder, store, queued, index, qa, metrics, stopping)
