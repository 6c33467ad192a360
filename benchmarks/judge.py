"""Is the faster judge prompt a worse judge? Both prompts (`continuation`, `quote`) on a labelled
claim set, on one bundled llama.cpp server.

Each claim row (an answer, its passages, the question, `supported`) is checked by the word rules;
every sentence they pass is read by the judge with each prompt. `continuation` continues the
conversation the answer would have come from (the answer prompt over the row's passages, the
row's answer as the assistant's turn), `quote` asks about the title and quote alone. For yes/no
readings P(yes) is kept, so every threshold is scored from one run; bare answers (options A-D)
give a verdict. Scored as `qa eval --grounding` scores claims: an unsupported claim is caught
when the rules or the judge refuse one of its sentences, a supported one is a false alarm.

    python -m benchmarks.judge [--claims data/eval/grounding/sample-claims.jsonl] [--corpus C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.answers import local_llm
from benchmarks.evidence import cpu_model
from benchmarks.rates import load
from benchmarks.run import ROOT
from qa.checking.answer import CheckedSentence, check_answer
from qa.checking.judge import CLEAR_CHOICE, LETTERS, Judge, _bare
from qa.domain import CheckRequest, Passage
from qa.eval.grounding import load_claims
from qa.llm.base import LLM
from qa.prompt import Prompts
from qa.settings import JUDGE_PROMPTS, Settings

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_REMAINING = re.compile(r"prefix-match hit, remaining (\d+) prompt tokens")


def today(passages: list[Passage]) -> Any:
    import datetime as dt

    days = [p.published[:10] for p in passages if p.published]
    return dt.date.fromisoformat(max(days)) if days else None


async def reading(
    judge: Judge, llm: LLM, prompt: str, row: dict, sentence: CheckedSentence, passages: list
) -> dict[str, Any]:
    """The judge's reading of one sentence with one prompt: P(yes), or a bare answer's verdict."""
    question = row.get("question")
    messages = judge.prompts.answer_messages(question or "", passages, today(passages))
    options = judge.options(sentence, passages, question)
    if options and question:
        letters = LETTERS[: len(options)]
        asked = (
            judge.choice_continuation(options, question, messages, row["answer"])
            if prompt == "continuation"
            else judge.choice_messages(options, question, sentence, passages)
        )
        odds = await llm.choose(asked, letters)
        answer = letters[options.index(_bare(sentence.claim))]
        picked = max(letters, key=lambda x: odds[x])
        return {"bare": True, "keep": not (picked != answer and odds[picked] >= CLEAR_CHOICE)}
    asked = (
        judge.continuation(sentence, passages, messages, row["answer"])
        if prompt == "continuation"
        else judge.messages(sentence, passages)
    )
    return {"bare": False, "yes": (await llm.choose(asked, ("yes", "no")))["yes"]}


def kept(r: dict[str, Any], threshold: float) -> bool:
    return bool(r["keep"]) if r["bare"] else r["yes"] >= threshold


def score(claims: list[dict[str, Any]], prompt: str, scope: str, threshold: float) -> dict:
    """Recall of unsupported claims and false alarms on supported ones."""
    caught: list[bool] = []
    alarms: list[bool] = []
    for claim in claims:
        refused = claim["rules_refused"] or any(
            not kept(r[prompt], threshold) for r in claim["readings"] if scope in r["scopes"]
        )
        (alarms if claim["supported"] else caught).append(refused)
    return {
        "recall_unsupported": round(statistics.fmean(caught), 3) if caught else None,
        "false_alarms": round(statistics.fmean(alarms), 3) if alarms else None,
    }


def refused_by_kind(
    claims: list[dict[str, Any]], prompt: str, scope: str, threshold: float
) -> dict[str, float]:
    """Per kind, the share of answers shown as not grounded (as /check's `grounded`): none of
    their sentences passes both the rules and the judge."""
    refused: dict[str, list[bool]] = {}
    for claim in claims:
        judged = {id(r["_sentence"]): r for r in claim["readings"] if scope in r["scopes"]}
        shown = [
            c
            for c in claim["_checked"]
            if c.supported and (id(c) not in judged or kept(judged[id(c)][prompt], threshold))
        ]
        refused.setdefault(claim["kind"] or str(claim["supported"]), []).append(not shown)
    return {kind: round(statistics.fmean(flags), 3) for kind, flags in sorted(refused.items())}


async def run(
    url: str,
    rows: list[dict],
    log: Path,
    prompts_read: tuple[str, ...] = JUDGE_PROMPTS,
    scope: str = "all",
) -> dict[str, Any]:
    """`prompts_read`: the prompts to read every sentence with; `scope`: "all" reads every
    sentence the rules pass, "risky" only those the shipped judge reads (fewer LLM calls)."""
    from qa.llm.openai_chat import OpenAIChat

    llm = OpenAIChat(url, "x", Settings().llm_model, 600)
    prompts = Prompts.load(Settings().prompts_dir)  # QA_PROMPTS_DIR: try other templates
    risky = Judge(llm, prompts, "risky")
    every = Judge(llm, prompts, "all")
    claims = []
    for row in rows:
        request = CheckRequest.model_validate(
            {k: row[k] for k in ("answer", "passages", "question") if k in row}
        )
        passages = request.as_passages()
        checked = check_answer(request.answer, passages, request.question).checked
        claim: dict[str, Any] = {
            "supported": bool(row["supported"]),
            "kind": row.get("kind"),
            "rules_refused": not any(c.supported for c in checked),
            "readings": [],
            "_row": row,
            "_passages": passages,
            "_checked": checked,
        }
        for sentence in checked:
            if every.wants(sentence, passages, request.question):
                scopes = ["all"]
                if risky.wants(sentence, passages, request.question):
                    scopes.append("risky")
                if scope in scopes:
                    claim["readings"].append({"scopes": scopes, "_sentence": sentence})
        claims.append(claim)
    seconds: dict[str, list[float]] = {p: [] for p in prompts_read}
    tokens: dict[str, list[int]] = {p: [] for p in prompts_read}
    for prompt in prompts_read:  # all of one prompt, then the other: each keeps its cache
        for claim in claims:
            for r in claim["readings"]:
                offset = log.stat().st_size
                clock = time.perf_counter()
                r[prompt] = await reading(
                    every, llm, prompt, claim["_row"], r["_sentence"], claim["_passages"]
                )
                seconds[prompt].append(time.perf_counter() - clock)
                with log.open("rb") as f:
                    f.seek(offset)
                    found = _REMAINING.findall(f.read().decode(errors="replace"))
                if found:
                    tokens[prompt].append(int(found[-1]))
                line = {"prompt": prompt, "supported": claim["supported"], **r[prompt]}
                print(json.dumps({**line, "s": round(seconds[prompt][-1], 2)}), flush=True)
        print(prompt, "done", load(), flush=True)
    await llm.aclose()
    readings = [r for c in claims for r in c["readings"]]
    paired = len(prompts_read) == 2  # both prompts read: how far they agree
    both = [r for r in readings if paired and not r["quote"]["bare"]]
    report: dict[str, Any] = {
        "claims": len(claims),
        "supported": sum(c["supported"] for c in claims),
        "judged_sentences_all": len(readings),
        "judged_sentences_risky": sum("risky" in r["scopes"] for r in readings),
        "agreement_at_0.7": round(
            statistics.fmean(
                kept(r["quote"], 0.7) == kept(r["continuation"], 0.7) for r in readings
            ),
            3,
        )
        if readings and paired
        else None,
        "p_yes_correlation": round(
            statistics.correlation(
                [r["quote"]["yes"] for r in both], [r["continuation"]["yes"] for r in both]
            ),
            3,
        )
        if len(both) > 2
        else None,
        "rules_only": score(claims, "quote", "none", 0.0),
        "seconds_per_reading_p50": {
            p: round(statistics.median(v), 2) for p, v in seconds.items() if v
        },
        "prompt_tokens_read_p50": {p: statistics.median(v) for p, v in tokens.items() if v},
        "scores": {
            f"{prompt} {scopes} @{t}": score(claims, prompt, scopes, t)
            for prompt in prompts_read
            for scopes in ("risky", "all")
            if scope == "all" or scopes == "risky"
            for t in THRESHOLDS
        },
        "not_grounded_by_kind": {
            f"{prompt} {scopes} @{t}": refused_by_kind(claims, prompt, scopes, t)
            for prompt in prompts_read
            for scopes in ("risky", "all")
            if scope == "all" or scopes == "risky"
            for t in (0.0, *THRESHOLDS)
        },
        "p_yes": [
            {
                "supported": c["supported"],
                "kind": c["kind"],
                "claim": r["_sentence"].claim,
                **{p: r[p] for p in prompts_read},
            }
            for c in claims
            for r in c["readings"]
        ],
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--claims", type=Path, default=ROOT / "data" / "eval" / "grounding" / "sample-claims.jsonl"
    )
    parser.add_argument("--corpus", type=Path, default=None, help="for passages given by id")
    parser.add_argument("--limit", type=int, default=None, help="first N claims only")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "judge.json")
    parser.add_argument(
        "--prompts", default=",".join(JUDGE_PROMPTS), help="comma-separated: quote,continuation"
    )
    parser.add_argument(
        "--scope", choices=("all", "risky"), default="all", help="risky: the shipped judge's"
    )
    args = parser.parse_args()
    prompts_read = tuple(p for p in args.prompts.split(",") if p)
    if not prompts_read or set(prompts_read) - set(JUDGE_PROMPTS):
        parser.error(f"--prompts: choose from {', '.join(JUDGE_PROMPTS)}")
    rows = load_claims(args.claims, args.corpus)[: args.limit]
    settings = Settings()
    log = ROOT / "var" / "judge-llm.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "claims_file": str(args.claims),
        "load_before": load(),
    }
    with local_llm(ROOT / settings.local_model, log) as client:
        report |= asyncio.run(run(str(client.client.base_url), rows, log, prompts_read, args.scope))
    report["load_after"] = load()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    summary = {
        k: v for k, v in report.items() if k not in ("p_yes", "scores", "not_grounded_by_kind")
    }
    summary["scores"] = {
        k: v for k, v in report["scores"].items() if k.endswith(("@0.5", "@0.6", "@0.7", "@0.8"))
    }
    summary["not_grounded_by_kind"] = report["not_grounded_by_kind"]
    print(json.dumps(summary, indent=2), flush=True)


if __name__ == "__main__":
    main()
