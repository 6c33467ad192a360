"""The one grammar of citation markers: what the answer parser reads as a citation (and the
prompt neutralises in article text, so an article cannot forge one)."""

from __future__ import annotations

import re

# "[1]", "[1, 2]", "[passage 1]", "(passage 1)", and the prompt's own fence '<passage id="1">',
# as small models sometimes write them
MARKER = re.compile(
    r"(?:\[\s*(?:passages?\s*)?|\(\s*passages?\s*|<\s*passage\s+id\s*=\s*[\"']?)"
    r"(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\s*(?:[\])]|[\"']?[^>\n]{0,200}>)",
    re.I,
)
LEADING_MARKERS = re.compile(rf"^(?:{MARKER.pattern}\s*)+", re.I)


def marker_numbers(marker_body: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", marker_body)]
