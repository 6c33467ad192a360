"""The bundled llama.cpp server's command line: threads and batch sizes as measured."""

from __future__ import annotations

import os
from pathlib import Path

from qa.llm.local import serve_command
from qa.settings import DEFAULT_LOCAL_LLM_BATCH


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_threads_and_batch_sizes_default_to_every_core_and_the_measured_batch() -> None:
    command = serve_command(Path("model.gguf"), port=8999)
    cores = str(os.cpu_count() or 2)
    assert flag(command, "--n_threads") == flag(command, "--n_threads_batch") == cores
    assert flag(command, "--n_batch") == flag(command, "--n_ubatch") == str(DEFAULT_LOCAL_LLM_BATCH)
    assert flag(command, "--port") == "8999"


def test_threads_and_batch_sizes_can_be_chosen() -> None:
    command = serve_command(Path("model.gguf"), threads=1, batch=128)
    assert flag(command, "--n_threads") == flag(command, "--n_threads_batch") == "1"
    assert flag(command, "--n_batch") == flag(command, "--n_ubatch") == "128"
