"""The claim check as a service: what POST /check answers, `qa check` prints and the eval
harnesses score - the word rules on each sentence, then the judge's second reading (if any)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from qa.checking.answer import assemble, check_answer
from qa.checking.judge import Judge
from qa.domain import CheckCitation, CheckedClaim, CheckRequest, CheckResponse
from qa.settings import DEFAULT_SUPPORT_THRESHOLD


async def check_request(
    request: CheckRequest,
    judge: Judge | None = None,
    threshold: float = DEFAULT_SUPPORT_THRESHOLD,
) -> CheckResponse:
    """What POST /check answers: the word rules and the support score, then the judge's second
    reading (if any)."""
    passages = request.as_passages()
    result = await run_in_threadpool(
        check_answer, request.answer, passages, request.question, threshold
    )
    if judge is not None:
        reviewed = [await judge.review(c, passages, request.question) for c in result.checked]
        result = assemble(reviewed, passages)
    return CheckResponse(
        grounded=result.grounded,
        support_score=result.support_score,
        sentences=[
            CheckedClaim(
                text=c.claim,
                supported=c.supported,
                reason=c.reason,
                score=c.score if c.score is not None else float(c.supported),
                verdict=c.verdict,
                citations=[
                    CheckCitation(
                        passage=n,
                        start=q.start,
                        end=q.end,
                        quote=passages[n - 1].text[q.start : q.end],
                    )
                    for n, q in c.quotes.items()
                ],
            )
            for c in result.checked
        ],
    )
