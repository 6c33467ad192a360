"""A small dated news corpus of our own for the timeline and the MCP tools: one strike story
told on four dates by two outlets (Northern Wire, Metro Daily), a third outlet's copy of the
first wire report (Coastal Herald, a day later), a reprint of the last report a week after it
(outside the duplicate groups' window), and two unrelated articles."""

from __future__ import annotations

import json
from pathlib import Path

from index.load import Document

TIMELINE_CORPUS = Path(__file__).parent / "data" / "timeline-corpus.jsonl"
STRIKE_QUERY = "Lisvane port strike"
WIRE_REPORT = "wire-strike-begins"  # 2024-03-04, Northern Wire
WIRE_COPY = "herald-strike-copy"  # 2024-03-05, Coastal Herald: the same text, lightly edited
# the story's other reports, in date order
LATER_REPORTS = ["metro-strike-spreads", "metro-strike-talks", "wire-strike-ends"]
REPRINT = "metro-strike-ends-reprint"  # 2024-03-22: wire-strike-ends' text, a week later
UNRELATED = ["herald-library", "metro-harvest"]


def timeline_docs() -> list[Document]:
    lines = TIMELINE_CORPUS.read_text().splitlines()
    return [Document.model_validate(json.loads(line)) for line in lines if line.strip()]


def article_texts() -> dict[str, str]:
    return {d.id: d.text for d in timeline_docs()}


# two outlets' figures for one thing (the conflict tests: API and chat page)
TROOP_REPORTS = [
    {
        "id": "nbc-troops",
        "title": "North Korean troops in Russia",
        "source": "NBC",
        "published": "2024-11-04",
        "text": "Some 12,000 North Korean troops have been deployed to Russia, officials said.",
    },
    {
        "id": "reuters-troops",
        "title": "North Korea sends troops to Russia",
        "source": "Reuters",
        "published": "2024-11-05",
        "text": "North Korea has sent 10,000 troops to Russia, a Reuters source said.",
    },
]
