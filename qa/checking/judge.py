"""A second reading, by the LLM, of the sentences the rules (qa/verify.py) pass but cannot be
sure of. Word rules see that a quote holds a claim's words, not that it says the same thing:
"X did not win" and "B beat A" pass them when the quote says "X won" and "A beat B". The LLM is
asked whether the quote (with its title) says the sentence is true, and the sentence is kept
only when the probability of "yes" reaches the threshold.

A bare answer ("Singapore" to "Which island nation plunged into chaos...?") is true of its quote
whatever the question, so yes/no cannot judge it: the LLM is asked instead which of the quote's
names answers the question, and the answer is refused when it clearly picks another ("Sri
Lanka has plunged into chaos and its President has fled to Singapore").

Which sentences: `risky` (the default) - a negation in the claim or its quote, two or more
names in the claim (roles that can be swapped), or a bare answer whose quote names others;
`all`; or `off`. Measured on the news-dev claims in the README.

How it asks (`QA_JUDGE_PROMPT`): `continuation` (the default, when the answer's messages are
given) continues the answer's own conversation - its messages, the answer as the assistant's
turn, then a short yes/no question about one sentence - so llama.cpp's prompt cache serves
the passages and the judge reads a few dozen new tokens; `quote` (and /check, which has no
answer conversation) asks in a conversation of its own with the title and the quote only."""

from __future__ import annotations

from dataclasses import replace

from qa.checking.answer import CheckedSentence
from qa.checking.roles import mentions, name_spans
from qa.checking.rules import yes_no
from qa.checking.tokens import Evidence, tokenize
from qa.domain import Passage
from qa.llm.base import LLM, Message
from qa.prompt import Prompts, neutralised
from qa.settings import DEFAULT_JUDGE_THRESHOLD, JudgePrompt, JudgeScope

REASON = "a second reading finds the quote does not say it"
LETTERS = "ABCD"
CLEAR_CHOICE = 0.5  # another option likelier than all the others together, the answer included


class Judge:
    def __init__(
        self,
        llm: LLM,
        prompts: Prompts,
        scope: JudgeScope = "risky",
        threshold: float = DEFAULT_JUDGE_THRESHOLD,
        prompt: JudgePrompt = "quote",
    ):
        self.llm = llm
        self.prompts = prompts
        self.scope = scope
        self.threshold = threshold
        self.prompt = prompt

    def wants(
        self, sentence: CheckedSentence, passages: list[Passage], question: str | None = None
    ) -> bool:
        """Whether this sentence gets a second reading: only supported ones can lose anything."""
        if self.scope == "off" or not sentence.supported or not sentence.quotes:
            return False
        if self.scope == "all" or self.options(sentence, passages, question):
            return True
        claim = tokenize(sentence.claim)
        quote = tokenize(_quote_text(sentence, passages))
        return any(t.negation for t in claim + quote) or len(mentions(claim)) >= 2

    async def review(
        self, sentence: CheckedSentence, passages: list[Passage], question: str | None = None
    ) -> CheckedSentence:
        """The sentence as it stands after the second reading, if it wants one."""
        if not self.wants(sentence, passages, question):
            return sentence
        return await self.reread(sentence, passages, question)

    async def reread(
        self,
        sentence: CheckedSentence,
        passages: list[Passage],
        question: str | None = None,
        messages: list[Message] | None = None,
        written: str | None = None,
    ) -> CheckedSentence:
        """The second reading: unsupported, with the reason, when the LLM does not find the
        sentence in its quote (or, for a bare answer, finds another answer there). `messages`
        and `written`: the answer's conversation and the text the model wrote in it, which the
        continuation prompt continues (without them it asks about the quote alone)."""
        continued = self.prompt == "continuation" and bool(messages) and bool(written)
        options = self.options(sentence, passages, question)
        if options and question:
            letters = LETTERS[: len(options)]
            asked = (
                self.choice_continuation(options, question, messages or [], written or "")
                if continued
                else self.choice_messages(options, question, sentence, passages)
            )
            odds = await self.llm.choose(asked, letters)
            answer = letters[options.index(_bare(sentence.claim))]
            picked = max(letters, key=lambda x: odds[x])
            if picked != answer and odds[picked] >= CLEAR_CHOICE:
                reason = f"a second reading finds {options[letters.index(picked)]} answers it"
                return replace(sentence, supported=False, reason=reason)
            return sentence
        asked = (
            self.continuation(sentence, passages, messages or [], written or "")
            if continued
            else self.messages(sentence, passages)
        )
        odds = await self.llm.choose(asked, ("yes", "no"))
        if odds["yes"] >= self.threshold:
            return sentence
        return replace(sentence, supported=False, reason=REASON)

    def options(
        self, sentence: CheckedSentence, passages: list[Passage], question: str | None
    ) -> list[str]:
        """For a bare answer (names and numbers only) to an open question: the answer and up to
        three other names of its quote and title, in the order the text gives them; else []."""
        if not question or yes_no(question):
            return []
        claim = tokenize(sentence.claim)
        if not any(t.name for t in claim) or any(
            t.content and not t.name and not t.number for t in claim
        ):
            return []
        title, quote = _title(sentence, passages), _quote_text(sentence, passages)
        asked, said = Evidence(tokenize(question)), Evidence(claim)
        others = [
            name
            for name in name_spans(quote) + name_spans(title)
            if not any(asked.has(t) or said.has(t) for t in tokenize(name))
        ]
        if not others:
            return []
        text = f"{title}. {quote}"
        options = [_bare(sentence.claim), *list(dict.fromkeys(others))[:3]]

        def place(option: str) -> int:  # where the text gives it (the answer may be reworded)
            at = text.find(option)
            return at if at >= 0 else len(text)

        return sorted(options, key=place)

    def messages(self, sentence: CheckedSentence, passages: list[Passage]) -> list[Message]:
        user = self.prompts.judge.format(
            text=_read(sentence, passages), claim=neutralised(sentence.claim)
        )
        return [
            {"role": "system", "content": self.prompts.judge_system},
            {"role": "user", "content": user},
        ]

    def choice_messages(
        self, options: list[str], question: str, sentence: CheckedSentence, passages: list[Passage]
    ) -> list[Message]:
        listing = "\n".join(f"{LETTERS[i]}. {neutralised(o)}" for i, o in enumerate(options))
        user = self.prompts.choice.format(
            text=_read(sentence, passages), question=neutralised(question), options=listing
        )
        return [
            {"role": "system", "content": self.prompts.choice_system},
            {"role": "user", "content": user},
        ]

    def continuation(
        self,
        sentence: CheckedSentence,
        passages: list[Passage],
        messages: list[Message],
        written: str,
    ) -> list[Message]:
        """The answer's conversation with its answer, then the yes/no question about one
        sentence: everything before the question is what llama.cpp has in its cache. The
        template may name the passage ({n}) and give its title and quote ({text})."""
        n = next(iter(sentence.quotes))
        user = self.prompts.judge_continuation.format(
            claim=neutralised(sentence.claim), n=n, text=_read(sentence, passages)
        )
        return [
            *messages,
            {"role": "assistant", "content": written},
            {"role": "user", "content": user},
        ]

    def choice_continuation(
        self, options: list[str], question: str, messages: list[Message], written: str
    ) -> list[Message]:
        listing = "\n".join(f"{LETTERS[i]}. {neutralised(o)}" for i, o in enumerate(options))
        user = self.prompts.choice_continuation.format(
            question=neutralised(question), options=listing
        )
        return [
            *messages,
            {"role": "assistant", "content": written},
            {"role": "user", "content": user},
        ]


def _bare(claim: str) -> str:
    return claim.rstrip(".?! ")


def _read(sentence: CheckedSentence, passages: list[Passage]) -> str:
    """The title and the quote, as the LLM reads them: article text in quotes and neutralised
    (qa.prompt), so that it cannot pose as the instructions."""
    title, quote = _title(sentence, passages), _quote_text(sentence, passages)
    text = f"{title.rstrip('.')}. {quote}" if title else quote
    return neutralised(text).replace('"', "'")


def _title(sentence: CheckedSentence, passages: list[Passage]) -> str:
    n = next(iter(sentence.quotes))
    return next((p.title or "" for p in passages if p.n == n), "")


def _quote_text(sentence: CheckedSentence, passages: list[Passage]) -> str:
    """The best quote of the first passage that carries the sentence."""
    n, quote = next(iter(sentence.quotes.items()))
    passage = next(p for p in passages if p.n == n)
    return passage.text[quote.start : quote.end]
