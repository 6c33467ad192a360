from datetime import UTC, date, datetime

from qa.domain import Passage, Turn
from qa.prompt import Prompts


def test_answer_prompt_numbers_passages_with_title_source_and_date() -> None:
    passages = [
        Passage(n=1, doc_id="a", chunk_id="a:0:x", title="Flood barrier opens", source="Sample News",
                published="2024-10-21T08:00:00+00:00", text="The barrier held.", start=0, end=17, score=0.9),
        Passage(n=2, doc_id="b", chunk_id="b:0:y", title="Untitled wire", text="No date here.",
                start=0, end=13, score=0.5),
    ]  # fmt: skip
    system, user = Prompts.load().answer_messages("  Did the barrier hold? ", passages)
    assert system["role"] == "system" and "[2]" in system["content"]
    assert (
        '<passage id="1" title="Flood barrier opens" source="Sample News" published="2024-10-21">'
        "\nThe barrier held.\n</passage>"
    ) in user["content"]
    assert (
        '<passage id="2" title="Untitled wire" published="undated">\nNo date here.\n</passage>'
    ) in user["content"]
    assert user["content"].rstrip().endswith("Question: Did the barrier hold?")
    assert user["content"].startswith(f"Today is {datetime.now(UTC).date().isoformat()}.")
    _, dated = Prompts.load().answer_messages(
        "Did it hold this week?", passages, date(2024, 10, 22)
    )
    assert dated["content"].startswith("Today is 2024-10-22.")


def test_condense_prompt_keeps_recent_short_history() -> None:
    history = [Turn(role="user", content=f"question {i} " + "x" * 5000) for i in range(10)]
    [message] = Prompts.load().condense_messages("And then?", history)
    assert "question 3 " not in message["content"] and "question 9 " in message["content"]
    assert len(message["content"]) < 6 * 700 + 500
    assert message["content"].rstrip().endswith("Standalone question:")
