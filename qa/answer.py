"""Turn the LLM's text into verified data: `[n]` markers → citations with exact quotes and
offsets, each sentence checked against the passages it cites (words, numbers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.chunk import split_sentences
from qa.schemas import Citation, Passage, Sentence

NOT_ANSWERED = "The retrieved articles do not answer this question."
MIN_COVERAGE = 0.5  # share of a sentence's content words that its passage must contain

# "[1]", "[1, 2]", "[passage 1]", and "(passage 1)" as small models sometimes write
MARKER = re.compile(
    r"(?:\[\s*(?:passages?\s*)?|\(\s*passages?\s*)(\d+(?:\s*[,;]\s*(?:passages?\s*)?\d+)*)\s*[\])]",
    re.I,
)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_REFUSAL = re.compile(
    r"\b(do(es)? not (contain|mention|provide|answer|say)|not (mentioned|provided|specified|stated)"
    r"|no (information|mention)|cannot (answer|determine|be determined)|unable to (answer|find))\b",
    re.I,
)
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into over about after before
    than then that this these those there their they them it its is are was were be been
    being has have had do does did will would could should may might can not no so such
    which who whom what when where why how also more most some any all each other both up
    out said says say reportedly according he she his her we our you your i me my""".split()
)


def terms(text: str) -> set[str]:
    """Content terms: lower-cased words without stopwords (crudely singular) and numbers."""
    found = set()
    for token in _TOKEN.findall(text.lower()):
        if token[0].isdigit():
            found.add(token.replace(",", ""))
        elif token not in STOPWORDS and len(token) > 1:
            found.add(token[:-1] if len(token) > 3 and token.endswith("s") else token)
    return found


def numbers(found_terms: set[str]) -> set[str]:
    return {t for t in found_terms if t[0].isdigit()}


def coverage(claim: set[str], passage_terms: set[str]) -> float:
    return len(claim & passage_terms) / len(claim) if claim else 0.0


def is_supported(claim: set[str], passage_terms: set[str]) -> bool:
    """Most content words, and every number, of the claim appear in the passage."""
    return coverage(claim, passage_terms) >= MIN_COVERAGE and numbers(claim) <= passage_terms


def find_quote(claim: str, passage: Passage) -> tuple[int, int, float]:
    """Document offsets of the passage sentence(s) that best support `claim`, and coverage."""
    claim_terms = terms(claim)
    spans = split_sentences(passage.text, offset=passage.start)
    if not spans:
        return passage.start, passage.end, 0.0

    def span_text(i: int, j: int) -> str:
        return passage.text[spans[i].start - passage.start : spans[j].end - passage.start]

    scores = [coverage(claim_terms, terms(span_text(i, i))) for i in range(len(spans))]
    best = max(range(len(spans)), key=lambda i: (scores[i], -(spans[i].end - spans[i].start)))
    first, last, score = best, best, scores[best]
    for i, j in ((best - 1, best), (best, best + 1)):
        if i >= 0 and j < len(spans):
            joined = coverage(claim_terms, terms(span_text(i, j)))
            if joined >= score + 0.15:
                first, last, score = i, j, joined
    return spans[first].start, spans[last].end, score


def make_citation(n: int, claim: str, passage: Passage) -> Citation:
    start, end, _ = find_quote(claim, passage)
    quote = passage.text[start - passage.start : end - passage.start]
    fields = passage.model_dump(exclude={"n", "text", "start", "end"})
    return Citation(**fields, n=n, quote=quote, start=start, end=end)


def marker_numbers(marker_body: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", marker_body)]


@dataclass
class CheckedAnswer:
    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    grounded: bool


def _split_answer(text: str) -> list[str]:
    """Answer sentences; markers written after a full stop ("... howitzers. [1] Some ...") go
    back onto the sentence they close, unless they open a new line ("[1] item" lists)."""
    merged: list[str] = []
    previous_end = 0
    for span in split_sentences(text):
        piece = text[span.start : span.end]
        new_line = "\n" in text[previous_end : span.start]
        previous_end = span.end
        lead = re.match(rf"^(?:{MARKER.pattern}\s*)+", piece, re.I)
        if lead and merged and not new_line:
            merged[-1] = f"{merged[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            merged.append(piece)
    return merged


def check_answer(text: str, passages: list[Passage]) -> CheckedAnswer:
    """Parse markers, verify each sentence, keep only supported sentences in the answer."""
    by_n = {p.n: p for p in passages}
    passage_terms = {p.n: terms(p.text) for p in passages}
    sentences: list[Sentence] = []
    kept: list[str] = []
    citations: dict[tuple[int, int, int], Citation] = {}  # one per distinct quote of a passage
    for raw in _split_answer(text.strip()):
        cited = [n for m in MARKER.finditer(raw) for n in marker_numbers(m.group(1))]
        cited = list(dict.fromkeys(n for n in cited if n in by_n))  # drop out-of-range markers
        claim = MARKER.sub("", raw).strip()
        claim = re.sub(r"\s+([.,;:!?])", r"\1", claim)
        claim_terms = terms(claim)
        union = set().union(*(passage_terms[n] for n in cited)) if cited else set()
        if not is_supported(claim_terms, union):
            # small models forget markers or cite the wrong number: cite the passage that
            # supports the sentence best, if any does; otherwise keep what the model cited
            repaired = _best_supporting(claim_terms, passage_terms)
            if repaired:
                cited, union = repaired, passage_terms[repaired[0]]
        supported = (
            bool(claim_terms) and not _REFUSAL.search(claim) and is_supported(claim_terms, union)
        )
        sentences.append(Sentence(text=claim, citations=cited, supported=supported))
        if supported:
            kept.append(_with_markers(claim, cited))
            for n in cited:
                citation = make_citation(n, claim, by_n[n])
                citations.setdefault((n, citation.start, citation.end), citation)
    if not kept:
        return CheckedAnswer(NOT_ANSWERED, [], sentences, grounded=False)
    ordered = [citations[key] for key in sorted(citations)]
    return CheckedAnswer(" ".join(kept), ordered, sentences, grounded=True)


def _best_supporting(claim: set[str], passage_terms: dict[int, set[str]]) -> list[int]:
    supporting = [n for n, pt in passage_terms.items() if is_supported(claim, pt)]
    if not supporting:
        return []
    return [max(supporting, key=lambda n: (coverage(claim, passage_terms[n]), -n))]


def _with_markers(claim: str, cited: list[int]) -> str:
    marks = "".join(f"[{n}]" for n in cited)
    if claim and claim[-1] in ".!?":
        return f"{claim[:-1]} {marks}{claim[-1]}"
    return f"{claim} {marks}"
