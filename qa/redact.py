"""Remove secrets from text that came from elsewhere (an LLM server's error message) before it
goes into a response or a log line: an upstream "Incorrect API key provided: sk-..." must not
reach our callers."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-*]{3,}"),  # OpenAI-style keys, also partly masked ones
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{4,}"),
    re.compile(
        r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password|authorization)"
        r"(\"?\s*[:=]\s*\"?)[^\s\"',;}]+"
    ),
)
MASK = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if len(secret) >= 4:  # a 1-3 character "secret" would mask ordinary words
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
