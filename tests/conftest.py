from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.embed import Embedder
from qa.settings import ENV_FILE_VARIABLE, Settings, get_settings
from qa.testing.fakes import CachingEmbedder, HashingEmbedder
from qa.testing.llm_server import FakeLLM, create_fake_llm_app
from qa.testing.servers import free_port, serve_app, subprocess_server
from qa.web.app import create_app
from tests.utils.support import (  # noqa: F401 - also importable from here, as before
    ARTIFACTS,
    QUESTION,
    ROOT,
    SAMPLE_ARTICLE,
    SAMPLE_ARTICLES,
    SAMPLE_DIR,
    make_settings,
    sample_docs,
    shared_embedder,
)


def pytest_configure(config: pytest.Config) -> None:
    # Tests build their settings from nothing the caller set: a deployer's exported QA_API_KEYS
    # or .env would otherwise turn every unauthenticated fixture call into a 401. Cleared here,
    # before any test module or fixture reads the environment, and for the servers and CLI
    # processes the tests start (they inherit os.environ).
    for name in [n for n in os.environ if n.startswith("QA_")]:
        del os.environ[name]
    os.environ[ENV_FILE_VARIABLE] = ""  # no .env, wherever a process starts
    # Chroma syncs each write to disk: on tmpfs the tests' stores cost a third of the time
    shm = Path("/dev/shm")
    if "PYTEST_DEBUG_TEMPROOT" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """`get_settings` is cached for the process: a test that sets QA_* must not see the
    settings an earlier test's code read (nor leave its own to the next)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model's vectors, each text embedded once per run: re-ingesting the sample
    corpus in another test (or `run_cli`) costs Chroma writes, not another pass of the model."""
    return shared_embedder()


@pytest.fixture(scope="session")
def minilm(embedder: CachingEmbedder) -> Embedder:
    """The real embedding model itself, uncached (for tests of the model)."""
    return embedder.inner


@pytest.fixture(scope="session")
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[tuple[FakeLLM, str]]:
    state = FakeLLM()
    with serve_app(create_fake_llm_app(state)) as url:
        yield state, f"{url}/v1"


@pytest.fixture
def fake_llm(fake_llm_server: tuple[FakeLLM, str]) -> FakeLLM:
    state, _ = fake_llm_server
    state.reset()
    state.quote = "240mm"  # answers quote the weapons sentence unless a test says otherwise
    return state


@pytest.fixture
def settings(tmp_path: Path, fake_llm_server: tuple[FakeLLM, str]) -> Settings:
    return make_settings(tmp_path, fake_llm_server[1])


@pytest.fixture
def api(settings: Settings, embedder: Embedder, fake_llm: FakeLLM) -> Iterator[str]:
    """The real app over real HTTP, real embedder and embedded Chroma, talking to the fake LLM.
    Its store starts empty; `sample_api` is the same app with data/sample already in."""
    with serve_app(create_app(settings, embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="session")
def ingested_sample(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    fake_llm_server: tuple[FakeLLM, str],
) -> Path:
    """A data dir holding data/sample, ingested once per run through the real app (real
    embedder, embedded Chroma, whatever the app writes beside it). Never open it: copy it."""
    root = tmp_path_factory.mktemp("ingested-sample")
    settings = make_settings(root, fake_llm_server[1])
    with serve_app(create_app(settings, embedder=embedder)) as url:
        reply = httpx.post(f"{url}/documents", json=sample_docs(), timeout=300)
        assert reply.status_code == 200, reply.text
    return settings.data_dir


@pytest.fixture
def sample_data(ingested_sample: Path, settings: Settings) -> Path:
    """This test's own copy of the ingested sample, at `settings.data_dir` (tmp_path/data)."""
    shutil.copytree(ingested_sample, settings.data_dir)
    return settings.data_dir


@pytest.fixture
def sample_api(
    sample_data: Path, settings: Settings, embedder: Embedder, fake_llm: FakeLLM
) -> Iterator[str]:
    """The app of `api`, over a copy of the ingested sample corpus."""
    with serve_app(create_app(settings, embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on 127.0.0.1."""
    chroma = shutil.which("chroma") or str(Path(os.sys.executable).parent / "chroma")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    cmd = [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with subprocess_server(cmd, f"{url}/api/v2/heartbeat", 60, path / "server.log"):
        yield url
