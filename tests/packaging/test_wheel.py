"""The wheel: built from what pyproject packages, installed away from this source tree, it
serves the app with its prompts (from the top-level prompts/) and chat page as package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from qa.testing.servers import free_port, wait_http
from tests.utils.support import ROOT


def test_serve_runs_the_app(tmp_path: Path) -> None:
    """`qa serve` installed from a wheel, away from this source tree: the prompts and the chat
    page must travel as package data."""
    site = install_wheel(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_PORT": str(port),
    }
    where = subprocess.run(
        [sys.executable, "-c", "import qa; print(qa.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(site)), where.stdout
    proc = subprocess.Popen(
        [str(site / "bin" / "qa"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, 60)  # the prompts loaded at start
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'id="question"' in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def install_wheel(tmp_path: Path) -> Path:
    """Build the project's wheel from a copy of what it packages, check what it holds, and
    install it (no dependencies: this environment has them) into a folder of its own."""
    source = tmp_path / "source"
    source.mkdir()
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    for package in ("qa", "index", "prompts"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, capture_output=True)
    [wheel] = wheels.glob("newsqa-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # the top-level prompts/ lands in the package, and every module of the tree is in the wheel
    # (a package missing from pyproject's list would install without it)
    prompts = {f"qa/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.txt")}
    static = {
        f"qa/web/static/{n}" for n in ("index.html", "dom.js", "app.js", "style.css", "timeline.js")
    }
    static.add("qa/news/data/recency_words.txt")  # read with importlib.resources at run time
    modules = {p.relative_to(ROOT).as_posix() for d in ("qa", "index") for p in (ROOT / d).rglob("*.py")}  # fmt: skip
    assert len(prompts) >= 8
    assert not (prompts | static | modules) - names
    install = [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    return site
