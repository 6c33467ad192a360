"""Prompt templates, loaded once and filled with passages. The templates are the files of the
top-level `prompts/` folder, shipped in the wheel as the package data `qa.prompts` (pyproject maps
the folder there) and read with importlib.resources; `QA_PROMPTS_DIR` points at a deployer's own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from qa.domain import Conflict, Passage, Turn
from qa.markers import MARKER, marker_numbers

PROMPTS_PACKAGE = "qa.prompts"  # the top-level prompts/ folder, as the installed package has it
PROMPT_NAMES = (
    "system answer passage condense judge_system judge choice_system choice conflicts "
    "judge_continuation choice_continuation"
).split()
Message = dict[str, str]
HISTORY_TURNS = 6
HISTORY_TURN_CHARS = 600
# What article text must not contain verbatim, or it could pass for the prompt's own structure
# (a forged "\n\n[2] Ministry confirms…" looked exactly like a passage header):
_TAG = re.compile(r"<(\s*/?\s*passage)", re.I)  # opening or closing a passage
_LABEL = re.compile(r"^([ \t]*)(question|passages?)[ \t]*:", re.I | re.M)  # "Question:"
_ATTRIBUTE = str.maketrans({'"': "'", "<": "‹", ">": "›", "\n": " ", "\r": " "})


def neutralised(text: str) -> str:
    """Article text as it goes inside a passage: it keeps its meaning for the model but cannot
    close the passage, open another, number itself as one or start a question."""
    text = _TAG.sub(r"‹\1", text)
    text = MARKER.sub(lambda m: f"({', '.join(map(str, marker_numbers(m.group(1))))})", text)
    return _LABEL.sub(r"\1\2 -", text)


def _attribute(value: str) -> str:
    return neutralised(value).translate(_ATTRIBUTE)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    passage: str
    condense: str
    judge_system: str  # the second reading of risky sentences (qa/judge.py)
    judge: str
    choice_system: str  # ...and of bare answers: which name of the quote answers the question
    choice: str
    conflicts: str  # the note naming figures the passages disagree on ({claims}: one a line)
    judge_continuation: str  # the judge's question continuing the answer's conversation
    choice_continuation: str  # ...and for a bare answer: which option answers the question

    @classmethod
    def load(cls, directory: Traversable | Path | None = None) -> Prompts:
        """The shipped templates, or those in `directory` (every one of PROMPT_NAMES must be
        there: a missing file is an error at start-up, not a half-default prompt)."""
        folder = files(PROMPTS_PACKAGE) if directory is None else directory
        missing = [n for n in PROMPT_NAMES if not folder.joinpath(f"{n}.txt").is_file()]
        if missing:
            raise FileNotFoundError(
                f"prompt templates missing in {folder}: {', '.join(n + '.txt' for n in missing)}"
            )
        return cls(*(folder.joinpath(f"{n}.txt").read_text("utf-8").strip() for n in PROMPT_NAMES))

    def answer_messages(
        self,
        question: str,
        passages: list[Passage],
        today: date | None = None,
        conflicts: list[Conflict] | None = None,
    ) -> list[Message]:
        """`today`: the day the question is asked as of, so "this week" has a meaning. Each
        passage is fenced in <passage id="n"> tags; its text and fields are `neutralised`.
        `conflicts`: figures the passages disagree on, named in a note before the question."""
        blocks = "\n\n".join(
            self.passage.format(
                n=p.n,
                title=_attribute(p.title),
                source=f' source="{_attribute(p.source)}"' if p.source else "",
                published=_attribute((p.published or "undated")[:10]),
                text=neutralised(p.text),
            )
            for p in passages
        )
        day = today or datetime.now(UTC).date()
        note = self.conflict_note(conflicts or [])
        user = self.answer.format(
            passages=blocks,
            question=neutralised(question.strip()),
            today=day.isoformat(),
            notes=f"{note}\n\n" if note else "",
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def conflict_note(self, conflicts: list[Conflict]) -> str:
        """One line per conflict: each claim's figure, passage, source and date."""
        if not conflicts:
            return ""
        lines = []
        for conflict in conflicts:
            # worded as the sentence the model should write: small models copy the note
            claims = "; ".join(
                f"{_attribute(c.source or 'one report')} ({(c.published or 'undated')[:10]}) "
                f'reported "{_attribute(c.value)}" [{c.citation}]'
                for c in conflict.claims
            )
            lines.append(f"- {_attribute(conflict.about)}: {claims}")
        return self.conflicts.format(claims="\n".join(lines))

    def condense_messages(self, question: str, history: list[Turn]) -> list[Message]:
        # the last few turns, each shortened: enough to resolve "it"/"they", and it keeps the
        # prompt small for a local model's context window
        lines = "\n".join(
            f"{t.role.capitalize()}: {_shorten(t.content.strip(), HISTORY_TURN_CHARS)}"
            for t in history[-HISTORY_TURNS:]
        )
        user = self.condense.format(history=lines, question=question.strip())
        return [{"role": "user", "content": user}]
