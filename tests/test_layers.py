"""The dependency rule is enforced: `lint-imports` (in `make lint`) keeps the contracts of
pyproject.toml, and it does fail on a back-arrow (checked on a copy of the tree)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.utils.support import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in ("qa", "index"):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return tree


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_arrow_back_up_fails(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    domain = tree / "qa" / "domain.py"
    domain.write_text(domain.read_text() + "\nfrom qa.web import app as _app  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "qa.domain is not allowed to import qa.web" in result.stdout


def test_index_importing_qa_fails(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    chunk = tree / "index" / "chunk.py"
    chunk.write_text(chunk.read_text() + "\nimport qa.settings  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0 and "index.chunk -> qa.settings" in result.stdout
