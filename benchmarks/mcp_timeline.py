"""What the timeline and the MCP transport cost: the app served on 127.0.0.1 (real MiniLM,
embedded Chroma) over data/sample, each call timed end to end from the client. Compares
GET /timeline, POST /search, and the MCP `search` and `timeline` tools over streamable HTTP
(the SDK's client, one session). Run: python -m benchmarks.mcp_timeline [--runs 20]"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from index.load import Document, iter_files, load_path
from qa.eval.stats import percentile
from qa.settings import Settings
from qa.testing.servers import serve_app
from qa.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
QUERIES = [
    "North Korean troops in Russia",
    "Paylark outage",
    "Calderport dock strike",
    "What weapons were reportedly supplied to Russia?",
]


def sample() -> list[dict[str, object]]:
    docs = [d for p in iter_files([ROOT / "data" / "sample"]) for d in load_path(p)]
    return [d.model_dump() for d in docs if isinstance(d, Document)]


def timed_ms(samples: list[float], clock: float) -> None:
    samples.append((time.perf_counter() - clock) * 1000)


async def over_mcp(url: str, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"mcp search": [], "mcp timeline": []}
    async with Client(streamable_http_client(f"{url}/mcp")) as client:
        for _ in range(runs):
            for q in QUERIES:
                clock = time.perf_counter()
                result = await client.call_tool("search", {"query": q, "top_k": 4})
                timed_ms(times["mcp search"], clock)
                assert not result.is_error
                clock = time.perf_counter()
                result = await client.call_tool("timeline", {"query": q})
                timed_ms(times["mcp timeline"], clock)
                assert not result.is_error
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="passes over the queries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp),
            rate_limit="off",
            llm_base_url="http://127.0.0.1:9/v1",  # no LLM call is made
        )
        with (
            serve_app(create_app(settings)) as url,
            httpx.Client(base_url=url, timeout=120) as http,
        ):
            assert http.post("/documents", json=sample()).status_code == 200
            times: dict[str, list[float]] = {"GET /timeline": [], "POST /search": []}
            entries: list[int] = []
            for q in QUERIES:  # warm up: the model's first calls are slower
                http.get("/timeline", params={"q": q})
            for _ in range(args.runs):
                for q in QUERIES:
                    clock = time.perf_counter()
                    reply = http.get("/timeline", params={"q": q})
                    timed_ms(times["GET /timeline"], clock)
                    entries.append(len(reply.json()["entries"]))
                    clock = time.perf_counter()
                    http.post("/search", json={"query": q, "top_k": 4}).raise_for_status()
                    timed_ms(times["POST /search"], clock)
            times |= asyncio.run(over_mcp(url, args.runs))
    print(f"{len(QUERIES)} queries x {args.runs} runs over data/sample; ms per call")
    print("| call | p50 | p95 |")
    print("|---|---|---|")
    for name, samples in times.items():
        print(f"| {name} | {percentile(samples, 0.5):.1f} | {percentile(samples, 0.95):.1f} |")
    print(f"timeline entries per query: {sorted(set(entries))}")


if __name__ == "__main__":
    main()
