"""Settings that other pieces read (the local LLM's path and port), and GET /config."""

from pathlib import Path

import httpx
import pytest

from qa.llm import local as localmodel
from qa.prompt import HISTORY_TURNS
from qa.settings import Settings


def test_the_local_llm_is_one_setting_each(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QA_LLM_BASE_URL", "QA_LOCAL_LLM_PORT", "QA_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert default.llm_base_url == "http://127.0.0.1:8081/v1"
    assert default.local_model == localmodel.DEFAULT_PATH
    assert default.local_model.name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    monkeypatch.setenv("QA_LOCAL_LLM_PORT", "9123")
    monkeypatch.setenv("QA_LOCAL_MODEL", "/models/other.gguf")
    moved = Settings(_env_file=None)  # type: ignore[call-arg]
    assert moved.llm_base_url == "http://127.0.0.1:9123/v1"  # the app talks to where it runs
    assert moved.local_model == Path("/models/other.gguf")
    monkeypatch.setenv("QA_LLM_BASE_URL", "https://api.example.com/v1")
    assert Settings(_env_file=None).llm_base_url == "https://api.example.com/v1"  # type: ignore[call-arg]


def test_localmodel_reads_its_path_and_port_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QA_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("QA_LOCAL_LLM_PORT", "9124")
    monkeypatch.setenv("QA_LOCAL_MODEL", "/models/other.gguf")
    served: list[list[str]] = []
    monkeypatch.setattr(localmodel, "assemble", lambda path: path)
    monkeypatch.setattr(localmodel.subprocess, "call", lambda cmd: served.append(cmd) or 0)
    monkeypatch.setattr("sys.argv", ["qa.llm.local", "serve"])
    assert localmodel.main() == 0
    [cmd] = served
    assert cmd[cmd.index("--model") + 1] == "/models/other.gguf"
    assert cmd[cmd.index("--port") + 1] == "9124"
    monkeypatch.setattr("sys.argv", ["qa.llm.local", "url"])
    assert localmodel.main() == 0
    assert capsys.readouterr().out.strip() == "http://127.0.0.1:9124/v1"


def test_config_tells_clients_the_limits(api: str) -> None:
    assert httpx.get(f"{api}/config").json() == {
        "max_question_chars": 1000,
        "history_turns": HISTORY_TURNS,
    }
