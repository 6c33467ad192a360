"""The local LLM's token rates on this machine (first in `make bench`, so every other figure can
be read against them): prompt tokens read per second and tokens generated per second.

Each measurement starts from a cleared prompt cache (a short unrelated prompt first: llama.cpp
keeps only the last prompt's state, so the next prompt shares nothing but the chat template's
first tokens with it), then streams a ~400-token news prompt (the size the answer prompt has)
and reads:
- prompt tokens/s: the tokens llama.cpp had to read (its log: "remaining N prompt tokens";
  the prompt's token count when it found nothing) / (time to the first token - one token's time);
- generation tokens/s: the streamed tokens after the first / the time between first and last.

`--sweep` starts a server for each thread count and batch size and measures the same:
how `QA_LOCAL_LLM_THREADS` and `QA_LOCAL_LLM_BATCH` were chosen.

    python -m benchmarks.rates [--repeats 3] [--sweep] [--json var/rates.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openai import OpenAI

from benchmarks.evidence import cpu_model
from qa.llm.local import MODEL_ALIAS, serve_command
from qa.settings import Settings
from qa.testing.servers import free_port, subprocess_server

ROOT = Path(__file__).resolve().parent.parent
_REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")
# the prompts: sample news text, each from another word on, so no two share a prefix
CLEAR: list[dict[str, str]] = [{"role": "user", "content": "Say OK."}]


def news_text() -> str:
    texts = []
    for path in sorted((ROOT / "data" / "sample").glob("*.md")) + sorted(
        (ROOT / "data" / "sample").glob("*.txt")
    ):
        texts.append(path.read_text(encoding="utf-8"))
    return "\n\n".join(texts)


def prompt(i: int, words: int = 280) -> list[dict[str, str]]:
    body = " ".join(news_text().split()[i * 7 : i * 7 + words])
    return [
        {"role": "system", "content": f"Request {i}. Answer in one short sentence."},
        {"role": "user", "content": f"{body}\n\nQuestion: what is this text about?"},
    ]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one(client: OpenAI, messages: list[dict[str, str]], log: Path, max_tokens: int) -> dict:
    """Clear the cache, then stream `messages`: tokens read, first-token time, token times."""
    client.chat.completions.create(model=MODEL_ALIAS, messages=CLEAR, max_tokens=1)  # type: ignore[arg-type]
    offset = log.stat().st_size
    clock = time.perf_counter()
    stamps: list[float] = []
    stream = client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:  # type: ignore[union-attr]
            stamps.append(time.perf_counter() - clock)
    with log.open("rb") as f:
        f.seek(offset)
        found = _REMAINING.findall(f.read().decode(errors="replace"))
    total = client.chat.completions.create(
        model=MODEL_ALIAS,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=1,  # the prompt's size (cached now: costs a token)
    ).usage
    read = int(found[-1]) if found else (total.prompt_tokens if total else 0)
    return {"read": read, "stamps": stamps}


def measure(url: str, log: Path, repeats: int = 3, max_tokens: int = 48) -> dict[str, Any]:
    """Median prompt and generation tokens/s over `repeats` fresh prompts."""
    client = OpenAI(base_url=url, api_key="x", timeout=600)
    client.chat.completions.create(model=MODEL_ALIAS, messages=CLEAR, max_tokens=2)  # type: ignore[arg-type]
    prompt_rates, gen_rates, reads = [], [], []
    for i in range(repeats):
        row = one(client, prompt(i + 1), log, max_tokens)
        stamps = row["stamps"]
        if len(stamps) < 3:
            continue
        gen = (len(stamps) - 1) / (stamps[-1] - stamps[0])
        gen_rates.append(gen)
        prompt_rates.append(row["read"] / max(stamps[0] - 1 / gen, 1e-3))
        reads.append(row["read"])
    return {
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1) if prompt_rates else None,
        "generation_tokens_per_s": round(statistics.median(gen_rates), 2) if gen_rates else None,
        "prompt_tokens_read": round(statistics.median(reads)) if reads else None,
        "repeats": len(prompt_rates),
    }


@contextmanager
def server(
    model: Path, log: Path, threads: int | None = None, batch: int | None = None
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = serve_command(model, port=port, threads=threads, batch=batch)
    with subprocess_server(command, f"{url}/models", 180, log):
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="prompts per measurement")
    parser.add_argument(
        "--sweep", action="store_true", help="threads 1, 2 x batch 128, 256, 512, one server each"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "rates.json")
    args = parser.parse_args()
    settings = Settings()
    model = ROOT / settings.local_model
    log = ROOT / "var" / "rates-llm.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_before": load()}
    with server(model, log) as url:
        report["as_shipped"] = measure(url, log, args.repeats)
    report["load_after"] = load()
    print(json.dumps(report), flush=True)
    if args.sweep:
        report["sweep"] = []
        for threads in (1, 2):
            for batch in (128, 256, 512):
                with server(model, log, threads, batch) as url:
                    row = {"threads": threads, "batch": batch, "load": load()}
                    row |= measure(url, log, args.repeats)
                print(json.dumps(row), flush=True)
                report["sweep"].append(row)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
