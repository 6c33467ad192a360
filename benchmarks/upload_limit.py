"""What a 200 MB chunked upload (no Content-Length) costs a running `qa serve`: its answer and
the server's peak memory (VmHWM) before and after. Run: python -m benchmarks.upload_limit"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def body(total_mb: int) -> Iterator[bytes]:
    yield b'{"title": "Big", "text": "'
    block = b"x" * (1 << 20)
    for _ in range(total_mb):
        yield block
    yield b'"}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QA_DATA_DIR": tmp, "QA_PORT": str(port), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli.main", "serve"],
            env=env,
            cwd=tmp,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("qa serve did not start") from None
                    time.sleep(0.3)
            before = peak_rss_mb(proc.pid)
            started = time.perf_counter()
            try:
                reply = httpx.post(
                    f"{url}/documents",
                    content=body(args.mb),
                    headers={"content-type": "application/json"},
                    timeout=300,
                )
                outcome = f"{reply.status_code} {reply.json()['error']['type']}"
            except httpx.HTTPError as exc:  # the server may close before the client is done
                outcome = f"connection closed by the server ({type(exc).__name__})"
            result = {
                "upload_mb": args.mb,
                "outcome": outcome,
                "seconds": round(time.perf_counter() - started, 2),
                "server_peak_rss_mb_before": before,
                "server_peak_rss_mb_after": peak_rss_mb(proc.pid),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
