"""A second reading, by the LLM, of the sentences the rules (qa/verify.py) pass but cannot be
sure of. Word rules see that a quote holds a claim's words, not that it says the same thing:
"X did not win" and "B beat A" pass them when the quote says "X won" and "A beat B". The LLM is
asked whether the quote (with its title) says the sentence is true, and the sentence is kept
only when the probability of "yes" reaches the threshold.

Which sentences: `risky` (the default) - a negation in the claim or its quote, or two or more
names in the claim (roles that can be swapped); `all`; or `off`. Measured on the news-dev claims
in the README: most of the gain for half the calls."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from qa.answer import CheckedSentence
from qa.llm import LLM, Message
from qa.prompt import Prompts, neutralised
from qa.roles import mentions
from qa.schemas import Passage
from qa.tokens import tokenize

Scope = Literal["off", "risky", "all"]
REASON = "a second reading finds the quote does not say it"


class Judge:
    def __init__(self, llm: LLM, prompts: Prompts, scope: Scope = "risky", threshold: float = 0.7):
        self.llm = llm
        self.prompts = prompts
        self.scope = scope
        self.threshold = threshold

    def wants(self, sentence: CheckedSentence, passages: list[Passage]) -> bool:
        """Whether this sentence gets a second reading: only supported ones can lose anything."""
        if self.scope == "off" or not sentence.supported or not sentence.quotes:
            return False
        if self.scope == "all":
            return True
        claim = tokenize(sentence.claim)
        quote = tokenize(_quote_text(sentence, passages))
        return any(t.negation for t in claim + quote) or len(mentions(claim)) >= 2

    async def review(self, sentence: CheckedSentence, passages: list[Passage]) -> CheckedSentence:
        """The sentence as it stands after the second reading, if it wants one."""
        if not self.wants(sentence, passages):
            return sentence
        return await self.reread(sentence, passages)

    async def reread(self, sentence: CheckedSentence, passages: list[Passage]) -> CheckedSentence:
        """The second reading: unsupported, with the reason, when the LLM does not find the
        sentence in its quote."""
        messages = self.messages(sentence, passages)
        if await self.llm.yes_probability(messages) >= self.threshold:
            return sentence
        return replace(sentence, supported=False, reason=REASON)

    def messages(self, sentence: CheckedSentence, passages: list[Passage]) -> list[Message]:
        n = next(iter(sentence.quotes))
        title = next((p.title for p in passages if p.n == n), None)
        quote = _quote_text(sentence, passages)
        text = f"{title.rstrip('.')}. {quote}" if title else quote
        # article text in quotes and neutralised (qa.prompt): it cannot pose as the instructions
        user = self.prompts.judge.format(
            text=neutralised(text).replace('"', "'"), claim=neutralised(sentence.claim)
        )
        return [
            {"role": "system", "content": self.prompts.judge_system},
            {"role": "user", "content": user},
        ]


def _quote_text(sentence: CheckedSentence, passages: list[Passage]) -> str:
    """The best quote of the first passage that carries the sentence."""
    n, quote = next(iter(sentence.quotes.items()))
    passage = next(p for p in passages if p.n == n)
    return passage.text[quote.start : quote.end]
