"""The chat page's Timeline button in headless Chromium against the real app (real embedder,
embedded Chroma) holding the dated corpus: it lists the question's dated reports as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from index.embed import Embedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.news import LATER_REPORTS, STRIKE_QUERY, WIRE_COPY, WIRE_REPORT, timeline_docs
from tests.utils.support import make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def page(
    tmp_path: Path, fake_llm_server: tuple[FakeLLM, str], embedder: Embedder
) -> Iterator[Page]:
    settings = make_settings(tmp_path, fake_llm_server[1])
    with serve_app(create_app(settings, embedder=embedder)) as url, sync_playwright() as pw:
        docs = [d.model_dump() for d in timeline_docs()]
        assert httpx.post(f"{url}/documents", json=docs, timeout=60).status_code == 200
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            yield page
            assert errors == [], f"uncaught errors on the page: {errors}"
        finally:
            browser.close()


def test_timeline_button_lists_the_dated_quotes_and_toggles(page: Page) -> None:
    toggle, box = page.locator("#timeline-toggle"), page.locator("#timeline")
    toggle.click()
    expect(box).to_contain_text("Ask or type a question first")
    toggle.click()
    expect(box).to_be_hidden()
    page.fill("#question", STRIKE_QUERY)
    toggle.click()
    expect(box).to_have_attribute("data-state", "done", timeout=30_000)
    entries = box.locator(".tl-entry")
    expect(entries).to_have_count(4)
    ids = [entries.nth(i).get_attribute("data-doc-id") for i in range(4)]
    assert ids[0] in {WIRE_REPORT, WIRE_COPY} and ids[1:] == LATER_REPORTS
    expect(entries.nth(1).locator(".tl-date")).to_have_text("2024-03-09")
    expect(entries.nth(1).locator(".tl-source")).to_have_text("Metro Daily")
    expect(entries.nth(0).locator(".tl-also")).to_contain_text("Also reported by")
    expect(entries.nth(3).locator(".tl-quote")).to_contain_text("eleven-day strike")
    toggle.click()
    expect(box).to_be_hidden()
