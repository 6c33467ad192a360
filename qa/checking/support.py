"""The support score of a checked sentence: how likely its quote supports it, 0-1, like the
support score of Vertex AI's Check Grounding. The word rules give a verdict; a reader needs to
know more than yes or no: a sentence whose facts the quote contradicts (another number, a
negation flipped, names in each other's roles) is not the same as one the quote words
differently, or only partly covers.

- *contradicted*: a rule found a fact the quote says otherwise - score 0, never supported.
- otherwise the score is a logistic model over a handful of features of the claim against its
  quote and passage (which rule failed, if any; how much of the claim's content the quote and
  the passage carry; how many of its names and numbers the passage lacks; its length), fitted
  on development sets (`python -m benchmarks.fit_support`, docs/measurements.md); the weights
  are the data file checking/data/support_model.json. The sentence is *supported* when the
  score reaches the threshold (QA_SUPPORT_THRESHOLD), else *weak*.

An answer's `support_score` is the lowest of its claims' scores: one contradicted sentence
makes an answer one a reader cannot take whole (FaithBench labels a summary hallucinated when
any sentence is), and the mean would let long true padding hide it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

from qa.checking.tokens import Evidence, Token, tokenize
from qa.settings import SupportVerdict

# the rules whose failure is a fact the quote says otherwise (rules.Verdict.rule)
CONTRADICTING_RULES = frozenset({"negated", "roles", "borrowed"})
# the quote lacks a name the passage has elsewhere: a matter of degree (so is a failed "no
# quote carries it", the baseline it is weighed against); a claim with a number is scored only
# when the rules pass it (a figure must stand in its quote)
SOFT_RULES = ("name",)

FEATURES = (
    "rules_pass",  # the word rules found a quote that carries it
    "rule_name",  # ...or failed on a name the passage has elsewhere (else: on coverage)
    "passage_coverage",  # share of the claim's content words the passage (or question) holds
    "words_absent",  # log(1 + content words of the claim the passage never has)
    "length",  # log(1 + content words of the claim)
)


@dataclass(frozen=True)
class SupportModel:
    weights: dict[str, float]  # per feature, plus "bias"
    threshold: float  # the default QA_SUPPORT_THRESHOLD chosen on the dev sets

    def score(self, features: dict[str, float]) -> float:
        z = self.weights.get("bias", 0.0)
        z += sum(self.weights.get(name, 0.0) * value for name, value in features.items())
        return 1 / (1 + math.exp(-z))


MODEL_FILE = "support_model.json"


@cache
def model() -> SupportModel:
    raw = json.loads((files("qa.checking") / "data" / MODEL_FILE).read_text(encoding="utf-8"))
    return SupportModel({k: float(v) for k, v in raw["weights"].items()}, float(raw["threshold"]))


@lru_cache(maxsize=256)
def _passage_evidence(text: str, title: str) -> Evidence:
    return Evidence(tokenize(text), tokenize(title))


def absent_facts(
    claim: Sequence[Token], passage: str, title: str = "", question: str = ""
) -> list[Token]:
    """The names and numbers of `claim` that the passage (with its title) never gives, nor the
    question ("Which country promised Kyiv...?": "Germany promised Kyiv..." is its answer)."""
    seen, asked = _passage_evidence(passage, title), _passage_evidence(question, "")
    return [
        t
        for t in claim
        if t.content and (t.name or t.number) and not seen.has(t) and not asked.has(t)
    ]


def _negated(tokens: Sequence[Token], window: int = 4) -> list[Token]:
    """The content words within `window` words after a negation ("did not send troops to")."""
    return [
        u
        for i, t in enumerate(tokens)
        if t.negation
        for u in tokens[i + 1 : i + 1 + window]
        if u.content and not u.number
    ]


def denies(claim: Sequence[Token], quote: Sequence[Token], title: Sequence[Token] = ()) -> bool:
    """The claim denies what its quote (with the passage's title) asserts: words it negates
    that the quote or title has, none of them under the quote's own negation - "North Korea did
    not send troops" against a title "...to send more troops..." and a quote whose only
    negation is about something else ("it does not believe they were trying to provoke")."""
    negated = [t for t in _negated(claim) if not t.name]
    if not negated:
        return False
    given = [t for t in negated if Evidence(list(quote), list(title)).has(t)]
    quote_negated = Evidence(_negated(quote))
    return bool(given) and not any(quote_negated.has(t) for t in given)


def features(
    claim: Sequence[Token], rule: str | None, passage: str, title: str = "", question: str = ""
) -> dict[str, float]:
    """The model's inputs: `claim` as the rules read it (names marked) and the failed `rule` of
    its best quote (None when the rules pass it); the question's words count as given, as the
    rules count them."""
    content = [t for t in claim if t.content]
    seen, asked = _passage_evidence(passage, title), _passage_evidence(question, "")
    found = [seen.has(t) or asked.has(t) for t in content]
    return {
        "rules_pass": float(rule is None),
        **{f"rule_{r}": float(rule == r) for r in SOFT_RULES},
        "passage_coverage": sum(found) / len(content) if content else 0.0,
        "words_absent": math.log1p(len(found) - sum(found)),
        "length": math.log1p(len(content)),
    }


def verdict_of(supported: bool, contradicted: bool) -> SupportVerdict:
    if contradicted:
        return "contradicted"
    return "supported" if supported else "weak"


def support_score(scores: Sequence[float | None]) -> float | None:
    """The answer's score: its weakest sentence's (None when no sentence was scored)."""
    known = [s for s in scores if s is not None]
    return round(min(known), 3) if known else None
