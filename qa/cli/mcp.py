"""`qa mcp`: the MCP server over stdio, for an assistant or IDE that starts it as a subprocess.

stdout carries the protocol alone: logs and messages go to stderr (qa.logs, the console). The
tools only read, so no data-dir lock is taken (like `qa ask`), and the index follows what
another process (`qa serve`, `qa ingest`) writes meanwhile."""

from __future__ import annotations

import argparse
import asyncio

from starlette.concurrency import run_in_threadpool

from qa.mcp.server import build_server
from qa.services import build_services
from qa.settings import Settings


async def serve_stdio(settings: Settings) -> None:
    services = build_services(settings)
    index = services.index
    await run_in_threadpool(index.open)
    index.start_polling()
    try:
        await build_server(lambda: services).run_stdio_async()
    finally:
        index.close()
        await services.llm.aclose()


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(serve_stdio(settings))
    return 0
