"""`qa mcp` as an MCP client starts it: a subprocess speaking the protocol on stdin/stdout,
over a data dir ingested beforehand (real embedder, embedded Chroma)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from index.embed import Embedder
from qa.services import build_index, build_store
from tests.utils.mcp import TOOLS
from tests.utils.news import STRIKE_QUERY, timeline_docs
from tests.utils.support import ROOT, cli_env, make_settings


def test_qa_mcp_serves_the_tools_over_stdio(tmp_path: Path, embedder: Embedder) -> None:
    env = cli_env(tmp_path)
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1", collection=env["QA_COLLECTION"])
    index = build_index(settings, embedder, build_store(settings))
    index.write(timeline_docs())
    index.close()
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "qa.cli.main", "mcp"],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )

    async def use() -> tuple[set[str], Any, Any]:
        async with Client(server, read_timeout_seconds=120) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            timeline = await client.call_tool("timeline", {"query": STRIKE_QUERY})
            missing = await client.call_tool("get_document", {"doc_id": "nope"})
            return names, timeline, missing

    names, timeline, missing = asyncio.run(use())
    assert names == TOOLS
    assert len(timeline.structured_content["entries"]) == 4
    assert missing.is_error and "no document with id 'nope'" in missing.content[0].text
