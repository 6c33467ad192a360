"""The pipeline's news-desk steps, with a real store and retriever (embedded Chroma, the keyword
index) and the in-process scripted LLM: conflicting figures named in the prompt and reported in
the answer, latest questions dated "As of", and the stale horizon sentence."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from index.load import Document
from qa.domain import Answer, Filters
from qa.llm.base import Message
from qa.pipeline import QAService
from qa.prompt import Prompts
from qa.services import build_index, build_retriever, build_store
from qa.testing.fakes import HashingEmbedder, ScriptedLLM
from tests.utils.support import make_settings

NBC = Document(
    id="nbc-troops",
    title="North Korean troops in Russia",
    source="NBC",
    published="2024-11-04",
    text="Some 12,000 North Korean troops have been deployed to Russia, officials said. "
    "They are training near the border.",
)
REUTERS = Document(
    id="reuters-troops",
    title="North Korea troops Russia",
    source="Reuters",
    published="2024-11-05",
    text="North Korea has sent 10,000 troops to Russia, a Reuters source said. "
    "The troops arrived by train.",
)
QUESTION = "How many North Korean troops are in Russia?"
PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def passage_with(messages: list[Message], needle: str) -> int:
    prompt = messages[-1]["content"]
    return next(int(n) for n, text in PASSAGE.findall(prompt) if needle in text)


def both_sides(messages: list[Message]) -> str:
    """Each figure in its own sentence, cited to the passage that gives it."""
    a, b = passage_with(messages, "12,000"), passage_with(messages, "10,000")
    return (
        f"Some 12,000 North Korean troops have been deployed to Russia [{a}]. "
        f"North Korea has sent 10,000 troops to Russia [{b}]."
    )


def one_side(messages: list[Message]) -> str:
    return f"Some 12,000 North Korean troops have been deployed to Russia [{passage_with(messages, '12,000')}]."


@pytest.fixture
def service(tmp_path: Path) -> Callable[[object], tuple[QAService, ScriptedLLM]]:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    embedder = HashingEmbedder()
    store = build_store(settings)
    index = build_index(settings, embedder, store)
    index.write([NBC, REUTERS])
    retriever = build_retriever(settings, embedder, store, index)

    def make(replies: object) -> tuple[QAService, ScriptedLLM]:
        llm = ScriptedLLM(replies)  # type: ignore[arg-type]
        return QAService(retriever, llm, Prompts.load(), stale_after_days=30), llm

    return make


def ask(qa: QAService, question: str, as_of: date | None = None) -> Answer:
    filters = Filters(as_of=as_of) if as_of else None
    return asyncio.run(qa.ask(question, 4, filters))


def test_the_prompt_names_the_conflict_and_the_answer_reports_both(service) -> None:
    qa, llm = service(both_sides)
    answer = ask(qa, QUESTION)
    [conflict] = answer.conflicts
    assert {c.source for c in conflict.claims} == {"NBC", "Reuters"}
    assert conflict.reported is True
    prompt = llm.calls[0][-1]["content"]
    note = prompt[prompt.index("Note: these passages give different figures") :]
    n12, n10 = passage_with(llm.calls[0], "12,000"), passage_with(llm.calls[0], "10,000")
    assert f'NBC (2024-11-04) reported "Some 12,000" [{n12}]' in note
    assert f'Reuters (2024-11-05) reported "10,000" [{n10}]' in note
    assert note.index("Note:") < note.index("Question:")  # before the question it qualifies
    # each sentence carries its passage's source and date
    assert [[(a.source, a.published) for a in s.sources] for s in answer.sentences] == [
        [("NBC", "2024-11-04")],
        [("Reuters", "2024-11-05")],
    ]


def test_an_answer_that_picks_one_figure_gets_both_sides_stated_by_the_service(service) -> None:
    qa, llm = service(one_side)
    answer = ask(qa, QUESTION)
    [conflict] = answer.conflicts
    assert conflict.reported is False  # the model's own answer gave one figure
    n12, n10 = passage_with(llm.calls[0], "12,000"), passage_with(llm.calls[0], "10,000")
    # the service adds the sentence, oldest report first, each side with its outlet and date
    assert conflict.stated == (
        "Reports differ on North Korean troops: "
        f"NBC (2024-11-04) reported some 12,000 [{n12}]; Reuters (2024-11-05) reported 10,000 [{n10}]."
    )
    assert answer.answer.endswith(conflict.stated)
    last = answer.sentences[-1]  # as the reader sees it: the markers become its citations
    assert last.text == (
        "Reports differ on North Korean troops: "
        "NBC (2024-11-04) reported some 12,000; Reuters (2024-11-05) reported 10,000."
    )
    assert last.supported
    assert last.citations == sorted([n12, n10])
    assert {a.source for a in last.sources} == {"NBC", "Reuters"}


def test_an_answer_that_reports_both_gets_no_added_sentence(service) -> None:
    qa, _ = service(both_sides)
    answer = ask(qa, QUESTION)
    assert [c.stated for c in answer.conflicts] == [None]
    assert "Reports differ" not in answer.answer


def test_conflicts_off_sends_no_note_and_returns_none(service) -> None:
    qa, llm = service(one_side)
    qa.conflicts = False  # QA_CONFLICTS=false
    answer = ask(qa, QUESTION)
    assert answer.conflicts == []
    assert "Note: these passages" not in llm.calls[0][-1]["content"]


def test_a_latest_question_is_answered_as_of_the_newest_cited_report(service) -> None:
    qa, llm = service(one_side)
    answer = ask(
        qa, "What is the latest number of North Korean troops in Russia?", date(2024, 11, 6)
    )
    assert answer.grounded
    assert answer.answer.startswith("As of 2024-11-04, Some 12,000 North Korean troops")
    assert answer.as_of == "2024-11-04"
    assert answer.staleness is None
    # the newest report is read first
    first = PASSAGE.search(llm.calls[0][-1]["content"])
    assert first is not None and "10,000" in first.group(2)


def test_a_latest_question_says_how_old_its_newest_report_is(service) -> None:
    qa, _ = service(one_side)
    answer = ask(qa, "How many North Korean troops are in Russia now?", date(2024, 12, 20))
    assert answer.answer.endswith(
        "The newest report found is from 2024-11-05, 45 days before 2024-12-20."
    )
    assert (
        answer.staleness == "The newest report found is from 2024-11-05, 45 days before 2024-12-20."
    )


def test_other_questions_get_no_date_prefix(service) -> None:
    qa, _ = service(one_side)
    answer = ask(qa, QUESTION, date(2024, 12, 20))
    assert not answer.answer.startswith("As of")
    assert answer.as_of is None and answer.staleness is None
