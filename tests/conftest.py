from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embed import MiniLMEmbedder
from qa.app import create_app
from qa.settings import Settings
from tests.fake_llm import FakeLLM, create_fake_llm_app
from tests.servers import free_port, serve_app, subprocess_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"
SAMPLE_ARTICLES = 17  # in data/sample: 5 + 12 in wire-stories.jsonl
SAMPLE_ARTICLE = SAMPLE_DIR / "north-korea-russia-weapons.md"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


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


def make_settings(tmp_path: Path, llm_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "llm_base_url": llm_url,
        "llm_model": "fake-model",
        "llm_timeout_s": 5.0,
        "collection": "test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, fake_llm_server: tuple[FakeLLM, str]) -> Settings:
    return make_settings(tmp_path, fake_llm_server[1])


@pytest.fixture
def api(settings: Settings, embedder: MiniLMEmbedder, fake_llm: FakeLLM) -> Iterator[str]:
    """The real app over real HTTP, real embedder and embedded Chroma, talking to the fake LLM."""
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
