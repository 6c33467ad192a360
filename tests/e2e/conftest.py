"""The real bundled model, served once for every end-to-end test of this folder."""

from collections.abc import Iterator

import pytest

from qa.llm.local import DEFAULT_PATH, serve_command
from qa.testing.servers import free_port, subprocess_server
from tests.utils.support import ROOT


@pytest.fixture(scope="package")
def local_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model = ROOT / DEFAULT_PATH
    assert model.is_file(), f"{model} missing: `make model` assembles it (make test does)"
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "llama.log"
    with subprocess_server(
        serve_command(model, port=port), f"http://127.0.0.1:{port}/v1/models", 180, log
    ):
        yield f"http://127.0.0.1:{port}/v1"
