"""`qa check` and `qa eval --grounding`: the claim check from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from qa.checking.judge import Judge
from qa.checking.service import check_request
from qa.cli.console import console
from qa.domain import CheckRequest
from qa.eval import faithbench
from qa.eval.grounding import evaluate_claims, load_claims, markdown
from qa.llm.base import LLMError
from qa.services import build_judge, build_llm
from qa.settings import Settings

T = TypeVar("T")
NO_JUDGE = "[red]the judge could not ask the LLM:[/] {} (--judge off skips it)"


def command_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.request:
            raw = sys.stdin.read() if str(args.request) == "-" else args.request.read_text()
            request = CheckRequest.model_validate_json(raw)
        else:
            request = CheckRequest(
                answer=args.answer or "",
                passages=[{"text": text} for text in args.passage],  # type: ignore[misc]
                question=args.question,
            )
    except (OSError, ValidationError) as error:
        console.print(f"[red]cannot check:[/] {error}")
        return 2
    try:
        result = asyncio.run(
            _with_judge(
                args,
                settings,
                lambda judge: check_request(request, judge, settings.support_threshold),
            )
        )
    except LLMError as error:
        console.print(NO_JUDGE.format(error))
        return 3
    print(result.model_dump_json(indent=2))
    return 0 if result.grounded else 4


async def _with_judge(
    args: argparse.Namespace, settings: Settings, run: Callable[[Judge | None], Awaitable[T]]
) -> T:
    """`run` with the judge `--judge` (default: QA_JUDGE) asks for, closed after."""
    settings = settings.model_copy(update={"judge": args.judge or settings.judge})
    llm = build_llm(settings)
    try:
        return await run(build_judge(settings, llm))
    finally:
        await llm.aclose()


def command_eval(args: argparse.Namespace, settings: Settings) -> int:
    """A claims file, or a FaithBench-style summaries file (read by its fields; word rules only,
    the judge is not asked)."""
    try:
        if faithbench.is_summary_set(args.grounding):
            summaries = faithbench.load_summaries(args.grounding)[: args.limit or None]
            return _report(args, faithbench.evaluate_summaries(summaries), faithbench.markdown)
        rows = load_claims(args.grounding, args.corpus)[: args.limit or None]
        results = asyncio.run(
            _with_judge(args, settings, lambda judge: evaluate_claims(rows, judge))
        )
    except LLMError as error:
        console.print(NO_JUDGE.format(error))
        return 3
    except (OSError, ValueError, KeyError) as error:
        console.print(f"[red]{error}[/]")
        return 2
    return _report(args, results, markdown)


def _report(
    args: argparse.Namespace, results: dict[str, Any], table: Callable[[dict[str, Any]], str]
) -> int:
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0
