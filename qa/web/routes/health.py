"""/healthz, /readyz and /config."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from qa.prompt import HISTORY_TURNS
from qa.redact import redact
from qa.services import Services
from qa.web.deps import ServicesDep
from qa.web.errors import ApiError
from qa.web.schemas import error_doc
from qa.web.security import is_trusted

log = structlog.get_logger(__name__)
router = APIRouter()


@router.get("/config")
async def config(svc: ServicesDep) -> dict[str, int]:
    """The limits a client should keep to: the chat page sizes its input and history by them."""
    return {"max_question_chars": svc.settings.max_question_chars, "history_turns": HISTORY_TURNS}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: error_doc("the store or the LLM cannot be reached")})
async def readyz(request: Request, svc: ServicesDep) -> Any:
    # why a check failed is for trusted callers only (a key, or this machine with no keys)
    detailed = is_trusted(request, svc.settings)
    secrets = [svc.settings.llm_api_key, *svc.settings.api_key_list]
    checks: dict[str, str] = {}
    needed = [("store", _store_ok), ("llm", _llm_ok)]
    if svc.settings.answer_mode == "extractive":  # a deployment without an LLM
        needed, checks["llm"] = needed[:1], "not used (QA_ANSWER_MODE=extractive)"
    for name, check in needed:
        try:
            await check(svc)
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            log.warning("not_ready", check=name, error=redact(str(exc), secrets))
            checks[name] = (
                f"unavailable: {redact(str(exc), secrets)}" if detailed else "unavailable"
            )
    ready = all(checks[name] == "ok" for name, _ in needed)
    if not ready:
        raise ApiError(
            503, "not_ready", "; ".join(f"{k}: {v}" for k, v in checks.items()), checks=checks
        )
    return {"status": "ready", "checks": checks}


async def _store_ok(svc: Services) -> None:
    await run_in_threadpool(svc.store.heartbeat)


async def _llm_ok(svc: Services) -> None:
    await svc.llm.ping()
