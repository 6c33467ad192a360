"""The chat page in headless Chromium against the real app (real embedder, Chroma, fake LLM)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect, sync_playwright

from index.embed import Embedder
from qa.prompt import HISTORY_TURNS
from qa.settings import Settings
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.news import TROOP_REPORTS
from tests.utils.support import ARTIFACTS, QUESTION

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
ALERT = '<img src=y onerror="alert(1)">'
XSS_DOC = {
    "id": "xss-harbour-festival",
    "title": f"Harbour festival {SCRIPT} {IMG}",
    "text": (
        f"The harbour festival lanterns {SCRIPT} floated across the bay {IMG} {ALERT} at midnight. "
        "Organisers said the lantern parade drew about 80,000 visitors to the harbour."
    ),
    "source": "Sample News",
    "published": "2024-08-10",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Browser, api: str, **context: Any) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, **context)
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(api)
        expect(page.locator("#question")).to_be_focused()
        yield page
        assert errors == [], f"uncaught errors on the page: {errors}"
    finally:
        ctx.close()


@pytest.fixture
def page(browser: Browser, sample_api: str) -> Iterator[Page]:
    with open_page(browser, sample_api) as page:
        yield page


def ask(page: Page, question: str, state: str = "done") -> Locator:
    """Type the question, press Enter; return the new assistant message once it reaches `state`."""
    count = page.locator(".msg.assistant").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    msg = page.locator(".msg.assistant").nth(count)
    expect(msg).to_have_attribute("data-state", state, timeout=TIMEOUT_MS)
    return msg


def test_answer_with_citation_opens_marked_passage(page: Page, sample_api: str) -> None:
    msg = ask(page, QUESTION)
    expect(msg.locator(".answer")).to_contain_text("240mm multiple rocket launchers")
    msg.locator('.answer .cite[data-n="1"]').click()
    panel = page.locator("#passage-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".panel-n")).to_have_text("[1]")
    mark = panel.locator(".passage-text mark")
    expect(mark).to_have_count(1)
    expect(mark).to_contain_text("240mm multiple rocket launchers")
    body = httpx.post(f"{sample_api}/ask", json={"question": QUESTION}, timeout=30).json()
    [quote] = [c["quote"] for c in body["citations"] if c["n"] == 1]
    expect(mark).to_have_text(quote)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-desktop.png")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


def test_passage_panel_lists_wire_copies(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.quote = "fully restored at 3:25"
    msg = ask(page, "Why did the Paylark payments app go down?")
    expect(msg.locator(".answer")).to_contain_text("fully restored at 3:25")
    msg.locator(".answer .cite").first.click()
    panel = page.locator("#passage-panel")
    expect(panel.locator(".panel-title")).to_have_text(
        "Faulty update knocks out Paylark payments app for nine hours"
    )
    expect(panel.locator(".passage-text mark")).to_contain_text("fully restored at 3:25")
    also = panel.locator(".also-reported")
    expect(also).to_have_text("Also reported by: Valley Times (2024-10-02)")
    link = also.get_by_role("link", name="Valley Times (2024-10-02)")
    expect(link).to_have_attribute("href", "https://example.com/tech/paylark-app-outage")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-also-reported.png")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    fake_llm.quote = "240mm"
    other = ask(page, QUESTION)
    other.locator(".answer .cite").first.click()
    expect(panel.locator(".passage-text mark")).to_contain_text("240mm")
    expect(panel.locator(".also-reported")).to_have_count(0)


def test_follow_up_sends_history(page: Page, fake_llm: FakeLLM) -> None:
    first = ask(page, QUESTION)
    expect(first.locator(".answer")).to_contain_text("240mm")
    fake_llm.quote = "12,000"
    second = ask(page, "And how many troops were sent?")
    expect(second.locator(".answer")).to_contain_text("12,000")
    expect(page.locator('.msg.assistant[data-state="done"]')).to_have_count(2)
    condense = [
        r["messages"][-1]["content"]
        for r in fake_llm.requests
        if "Standalone question:" in r["messages"][-1]["content"]
    ]
    assert len(condense) == 1, condense
    assert QUESTION in condense[0] and "Last question: And how many troops" in condense[0]
    assert "240mm" in condense[0]  # the first answer is part of the history too
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#send")).to_be_in_viewport()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
    page.locator("#chat").evaluate("chat => { chat.scrollTop = chat.scrollHeight; }")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-phone.png")


def test_untrusted_article_html_is_shown_as_text(
    browser: Browser, sample_api: str, fake_llm: FakeLLM
) -> None:
    assert httpx.post(f"{sample_api}/documents", json=[XSS_DOC], timeout=60).status_code == 200
    fake_llm.quote = "harbour festival lanterns"
    # Bypass the page's CSP so that a regression to innerHTML would really run the handlers.
    with open_page(browser, sample_api, bypass_csp=True) as page:
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:  # a listener must dismiss, or the page hangs
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        msg = ask(page, "What floated across the bay during the harbour festival?")
        answer = msg.locator(".answer")
        expect(answer).to_contain_text("<script>window.__xss=1</script>")
        msg.locator(".answer .cite").first.click()
        text = page.locator("#passage-panel .passage-text")
        expect(text).to_be_visible()
        expect(text.locator("mark")).to_contain_text(SCRIPT)
        expect(text).to_contain_text(IMG)
        expect(page.locator("#passage-panel .panel-title")).to_have_text(XSS_DOC["title"])
        page.wait_for_timeout(300)  # give any injected handler a chance to fire
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert dialogs == []
        for where in ("#passage-panel", ".msg.assistant", "#messages"):
            expect(page.locator(f"{where} img, {where} script")).to_have_count(0)


def test_unsupported_sentences_are_dimmed_with_their_reason(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.reply = (
        "Some 12,000 North Korean troops have been sent to Russia [2]. "
        "France sent 300 fighter jets to Pyongyang [1]."
    )
    msg = ask(page, "How many troops were sent?")
    expect(msg.locator(".answer .sent:not(.unsupported)")).to_contain_text("12,000")
    dimmed = msg.locator(".answer .sent.unsupported")
    expect(dimmed).to_have_count(1)
    expect(dimmed).to_contain_text("France sent 300 fighter jets")
    expect(dimmed.locator(".cite")).to_have_count(0)  # an unsupported sentence cites nothing
    # a number the article does not give is another figure: the article says otherwise
    expect(dimmed).to_have_class(re.compile(r"\bcontradicted\b"))
    expect(dimmed).to_have_attribute(
        "title", re.compile(r"^Contradicted by the cited articles: number 300 not in quote")
    )
    dimmed.focus()  # the reason is shown on keyboard focus too
    reason = dimmed.evaluate("e => getComputedStyle(e, '::after').content")
    assert "Contradicted" in reason and "not in quote" in reason
    expect(msg.locator(".note")).to_contain_text("1 dimmed sentence")
    page.screenshot(path=str(ARTIFACTS / "chat-unsupported.png"))


def test_weak_and_contradicted_sentences_look_different(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.reply = (
        "Some 12,000 North Korean troops have been sent to Russia [1]. "
        "Japan has sent 12,000 troops to Russia [1]. "  # the article never names Japan
        "North Korea did not send troops to Russia [1]."  # it says they were sent
    )
    msg = ask(page, "How many troops were sent?")
    kept = msg.locator(".answer .sent:not(.unsupported)")
    expect(kept).to_contain_text("Some 12,000 North Korean troops")
    expect(kept).to_have_attribute("title", re.compile(r"^Support score (0\.[4-9]\d|1\.00)$"))
    weak = msg.locator(".answer .sent.unsupported.weak")
    expect(weak).to_have_count(1)
    expect(weak).to_contain_text("Japan has sent 12,000 troops")
    expect(weak).to_have_attribute(
        "title", re.compile(r"^Not supported by the cited articles: name Japan not in quote")
    )
    contradicted = msg.locator(".answer .sent.unsupported.contradicted")
    expect(contradicted).to_have_count(1)
    expect(contradicted).to_contain_text("North Korea did not send troops")
    expect(contradicted).to_have_attribute(
        "title", re.compile(r"^Contradicted by the cited articles: negated \(support 0\.00\)")
    )
    style = "e => { const s = getComputedStyle(e); return [s.textDecorationLine, s.color]; }"
    weak_line, weak_color = weak.evaluate(style)
    struck_line, struck_color = contradicted.evaluate(style)
    assert "line-through" in struck_line and "line-through" not in weak_line
    assert struck_color != weak_color  # red, not the muted grey of a weak sentence
    contradicted.focus()
    shown = contradicted.evaluate("e => getComputedStyle(e, '::after').content")
    assert shown.startswith('"Contradicted: ') and "negated" in shown
    weak.focus()
    assert weak.evaluate("e => getComputedStyle(e, '::after').content").startswith(
        '"Not supported: '
    )
    expect(msg.locator(".note")).to_contain_text("2 dimmed sentences")
    page.screenshot(path=str(ARTIFACTS / "chat-weak-contradicted.png"))


def test_unrelated_question_is_marked_unsupported(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.reply = "Germany won the 1998 World Cup [4]."
    msg = ask(page, "Who won the 1998 World Cup?")
    expect(msg).to_have_class("msg assistant ungrounded")
    expect(msg.locator(".answer .refusal")).to_contain_text("do not answer this question")
    expect(msg.locator(".answer .sent.unsupported")).to_contain_text("Germany won the 1998")
    expect(msg.locator(".note")).to_contain_text("not supported by the retrieved articles")


def test_llm_down_shows_error(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error"
    msg = ask(page, QUESTION, state="error")
    expect(msg).to_have_class("msg assistant error")
    alert = msg.locator('.error[role="alert"]')
    expect(alert).to_contain_text("The language model is unavailable (502)")
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#stop")).to_be_hidden()
    # the server quoted instead: the best quotes stand as the answer, cited, and marked so
    expect(msg.locator(".answer")).to_contain_text("240mm multiple rocket launchers")
    expect(msg.locator('.answer .cite[data-n="1"]').first).to_be_visible()
    expect(msg.locator(".note")).to_contain_text("instead of an answer")


def test_evidence_is_shown_highlighted_while_the_answer_is_written(
    page: Page, fake_llm: FakeLLM
) -> None:
    fake_llm.delay_s = 20  # the model writes slowly: the evidence must not wait for it
    msg = ask(page, QUESTION, state="streaming")
    evidence = msg.locator(".evidence .evidence-quote")
    expect(evidence.first).to_be_visible(timeout=5_000)
    expect(msg).to_have_attribute("data-state", "streaming")  # the answer is still coming
    expect(evidence.first.locator("mark")).to_contain_text("240mm multiple rocket launchers")
    expect(evidence.first).to_contain_text("[1]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "chat-evidence.png")
    evidence.first.click()
    panel = page.locator("#passage-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".passage-text mark")).to_contain_text("240mm multiple rocket launchers")
    page.keyboard.press("Escape")
    page.click("#stop")
    expect(msg).to_have_attribute("data-state", "stopped")
    expect(evidence.first).to_be_visible()  # the evidence stays


def test_service_down_shows_error(page: Page) -> None:
    page.route("**/ask", lambda route: route.abort("connectionrefused"))
    msg = ask(page, QUESTION, state="error")
    expect(msg.locator('.error[role="alert"]')).to_contain_text("Cannot reach the service")
    expect(page.locator("#send")).to_be_enabled()


def test_stop_keeps_partial_answer(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.delay_s = 20
    msg = ask(page, QUESTION, state="streaming")
    expect(msg.locator(".answer")).not_to_be_empty(timeout=TIMEOUT_MS)
    page.click("#stop")
    expect(msg).to_have_attribute("data-state", "stopped", timeout=TIMEOUT_MS)
    expect(msg.locator(".note")).to_have_text("Stopped — the answer above is incomplete.")
    expect(msg.locator(".answer")).not_to_be_empty()
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#send")).to_be_enabled()
    expect(msg.locator(".cite")).to_have_count(0)  # stopped before the closing [1]
    assert not msg.locator(".answer").inner_text().endswith("].")
    deadline = time.monotonic() + 10
    while not fake_llm.cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_llm.cancelled == 1, "stopping did not cancel the upstream LLM stream"


def test_page_keeps_to_the_server_limits(
    browser: Browser, sample_data: Path, settings: Settings, embedder: Embedder, fake_llm: FakeLLM
) -> None:
    """The input takes at most QA_MAX_QUESTION_CHARS; the history sent is what the server reads
    (HISTORY_TURNS), so a long conversation never meets the 50-turn cap."""
    limited = settings.model_copy(update={"max_question_chars": 321})
    sent: list[dict[str, Any]] = []
    with (
        serve_app(create_app(limited, embedder=embedder)) as url,
        open_page(browser, url) as page,
    ):
        expect(page.locator("#question")).to_have_attribute("maxlength", "321")
        page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/ask") else None)  # fmt: skip
        for i in range(HISTORY_TURNS // 2 + 2):
            ask(page, f"{QUESTION} ({i})")
    assert [len(body["history"]) for body in sent] == [0, 2, 4, 6, 6]
    assert sent[-1]["history"][0] == {"role": "user", "content": f"{QUESTION} (1)"}


def test_conflicts_and_dates_are_shown_with_the_answer(
    browser: Browser, api: str, fake_llm: FakeLLM
) -> None:
    assert httpx.post(f"{api}/documents", json=TROOP_REPORTS, timeout=60).status_code == 200
    fake_llm.quote = "10,000"
    with open_page(browser, api) as page:
        msg = ask(page, "How many North Korean troops are in Russia now?")
        conflicts = msg.locator(".conflicts")
        expect(conflicts).to_contain_text("Sources disagree")
        expect(conflicts).to_contain_text("Some 12,000")
        expect(conflicts).to_contain_text("10,000")
        expect(conflicts.locator(".conflict-missed")).to_have_count(1)  # the model gave one side
        expect(msg.locator(".sent-meta").first).to_contain_text("Reuters")
        # the sentence the service added gives both, each with its outlet
        expect(msg.locator(".answer")).to_contain_text("Reports differ on North Korean troops:")
        expect(msg.locator(".sent-meta").last).to_contain_text("NBC")
        # asked as of today: the newest report is old, and the page says so
        expect(msg.locator(".as-of")).to_have_text("As of 2024-11-05, ")
        expect(msg.locator(".stale")).to_contain_text("The newest report found is from 2024-11-05")
        conflicts.locator(".cite").first.click()
        expect(page.locator("#passage-panel .panel-title")).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "chat-conflicts.png")
