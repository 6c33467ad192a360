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


def test_the_tests_ignore_the_callers_qa_variables_and_env_file(tmp_path: Path) -> None:
    """A deployer's shell (exported API keys, an LLM URL) and a .env where pytest starts must
    not reach the tests: a slice that posts documents without a key and asks the fake LLM
    passes with both set (tests/conftest.py clears QA_* and turns .env off)."""
    import os
    import subprocess
    import sys

    from tests.utils.support import ROOT

    (tmp_path / ".env").write_text("QA_API_KEYS=from-dotenv\nQA_AUTH_READS=true\n")
    env = {
        **os.environ,
        "QA_API_KEYS": "x",
        "QA_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "QA_ENV_FILE": ".env",
    }
    slice_ = [
        f"{ROOT}/tests/web/test_api.py::test_ingest_is_idempotent_over_http",
        f"{ROOT}/tests/web/test_api.py::test_ask_returns_cited_answer_with_offsets",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={ROOT}", *slice_],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout


def test_a_deployer_can_point_at_their_own_prompts(tmp_path: Path) -> None:
    """QA_PROMPTS_DIR: the app's prompts are read from there; a folder missing one is an error
    at start-up that names the file."""
    import shutil

    from qa.prompt import PROMPT_NAMES, Prompts
    from tests.utils.support import ROOT

    own = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", own, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))  # fmt: skip
    (own / "system.txt").write_text("You are the desk's own assistant.")
    settings = Settings(_env_file=None, prompts_dir=own)  # type: ignore[call-arg]
    assert Prompts.load(settings.prompts_dir).system == "You are the desk's own assistant."
    assert Prompts.load().system != "You are the desk's own assistant."  # the shipped ones
    assert set(PROMPT_NAMES) == {p.stem for p in (ROOT / "prompts").glob("*.txt")}
    (own / "judge.txt").unlink()
    with pytest.raises(FileNotFoundError, match="judge.txt"):
        Prompts.load(own)


def test_feed_durations_and_private_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.settings import format_duration, parse_duration

    assert [parse_duration(t) for t in ("15m", "1h30m", "90", "2d", "0.5s")] == [
        900.0, 5400.0, 90.0, 172800.0, 0.5,
    ]  # fmt: skip
    assert format_duration(5400.0) == "1h30m" and format_duration(0.5) == "0.5s"
    for bad in ("", "soon", "15x", "0m", "-1m"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    monkeypatch.setenv("QA_FEEDS", "off")
    monkeypatch.setenv("QA_FEEDS_DEFAULT_EVERY", "5m")
    monkeypatch.setenv("QA_FEEDS_ALLOW_PRIVATE", "10.1.2.0/24, 127.0.0.1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.feeds is False and settings.feeds_default_every == 300.0
    assert [str(n) for n in settings.feeds_private_networks] == ["10.1.2.0/24", "127.0.0.1/32"]
    monkeypatch.setenv("QA_FEEDS_ALLOW_PRIVATE", "true")
    assert len(Settings(_env_file=None).feeds_private_networks) == 2  # type: ignore[call-arg]
    monkeypatch.setenv("QA_FEEDS_ALLOW_PRIVATE", "intranet")
    with pytest.raises(ValueError, match="QA_FEEDS_ALLOW_PRIVATE"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("QA_FEEDS_ALLOW_PRIVATE")
    assert Settings(_env_file=None).feeds_private_networks == ()  # type: ignore[call-arg]


def test_the_support_threshold_is_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from qa.checking.support import model

    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert default.support_threshold == model().threshold  # the one the fit chose
    monkeypatch.setenv("QA_SUPPORT_THRESHOLD", "0.65")
    assert Settings(_env_file=None).support_threshold == 0.65  # type: ignore[call-arg]
    for edge in ("0", "1"):
        monkeypatch.setenv("QA_SUPPORT_THRESHOLD", edge)
        assert Settings(_env_file=None).support_threshold == float(edge)  # type: ignore[call-arg]
    for bad in ("-0.1", "1.5", "high"):
        monkeypatch.setenv("QA_SUPPORT_THRESHOLD", bad)
        with pytest.raises(ValidationError, match="support_threshold"):
            Settings(_env_file=None)  # type: ignore[call-arg]
