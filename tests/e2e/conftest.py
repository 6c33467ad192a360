"""The real bundled model, served once for every end-to-end test of this folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.llm.local import DEFAULT_PATH, serve_command
from qa.testing.servers import free_port, subprocess_server
from tests.utils.support import ROOT


@pytest.fixture(scope="package")
def local_llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The server's URL and its log (llama-cpp-python says there how much of each prompt it
    found in its cache)."""
    model = ROOT / DEFAULT_PATH
    assert model.is_file(), f"{model} missing: `make model` assembles it (make test does)"
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "llama.log"
    with subprocess_server(
        serve_command(model, port=port), f"http://127.0.0.1:{port}/v1/models", 180, log
    ):
        yield f"http://127.0.0.1:{port}/v1", log


@pytest.fixture(scope="package")
def local_llm(local_llm_server: tuple[str, Path]) -> str:
    return local_llm_server[0]
