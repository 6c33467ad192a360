import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from index.load import Document, LoadError, iter_files, load_path
from tests.utils.support import SAMPLE_ARTICLE, SAMPLE_DIR


def test_markdown_front_matter_gives_title_and_metadata() -> None:
    [doc] = list(load_path(SAMPLE_ARTICLE))
    assert isinstance(doc, Document)
    assert doc.id == "nk-russia-weapons-2024"
    assert doc.title.startswith("North Korea preparing")
    assert doc.published == "2024-11-04"
    assert doc.source == "Sample News"
    assert doc.metadata["section"] == "world"
    assert doc.text.startswith("South Korea’s military reported on Monday")
    assert "240mm multiple rocket launchers" in doc.text


def test_plain_text_title_is_first_line(tmp_path: Path) -> None:
    path = tmp_path / "storm.txt"
    path.write_text("# Storm hits coast\n\nWinds of 150 km/h were measured.\n", encoding="utf-8")
    [doc] = list(load_path(path))
    assert isinstance(doc, Document)
    assert (doc.id, doc.title, doc.text) == (
        "storm",
        "Storm hits coast",
        "Winds of 150 km/h were measured.",
    )


def test_html_main_text_via_trafilatura(tmp_path: Path) -> None:
    body = " ".join(["The council approved the new tram line on Tuesday after a long debate."] * 4)
    page = f"""<html><head><title>Tram line approved</title>
    <meta property="article:published_time" content="2024-05-02"></head>
    <body><nav>Home | Sport | Weather</nav><article><h1>Tram line approved</h1><p>{body}</p>
    <p>Construction starts in 2026 and will cost 210 million euros.</p></article>
    <footer>Copyright 2024</footer></body></html>"""
    path = tmp_path / "tram.html"
    path.write_text(page, encoding="utf-8")
    [doc] = list(load_path(path))
    assert isinstance(doc, Document)
    assert doc.title == "Tram line approved"
    assert "210 million euros" in doc.text
    assert "Home | Sport" not in doc.text
    assert doc.published == "2024-05-02"


def test_jsonl_reports_malformed_lines_with_numbers(tmp_path: Path) -> None:
    good = {"id": "a", "title": "A", "text": "Alpha text.", "published": "2024-01-02"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "b", "text": "no title"}),
        json.dumps({"id": "c", "title": "C", "text": "x", "published": "yesterday"}),
        "",
        json.dumps([1, 2]),
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(load_path(path))
    docs = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, LoadError)]
    assert [d.id for d in docs] == ["a"]
    assert [e.line for e in errors] == [2, 3, 4, 6]
    assert "invalid JSON" in errors[0].message
    assert "title" in errors[1].message
    assert "ISO 8601" in errors[2].message


def test_document_id_defaults_to_url_or_content_hash() -> None:
    by_url = Document(title="T", text="body", url="https://example.com/a")
    same_url = Document(title="T2", text="other", url="https://example.com/a")
    by_content = Document(title="T", text="body")
    assert by_url.id == same_url.id
    assert by_content.id != by_url.id and len(by_content.id) == 16
    assert by_url.content_hash != same_url.content_hash


def test_blank_text_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Document(title="T", text="   ")


def test_iter_files_expands_folders_and_skips_unknown_types(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / "a.md").write_text("# A\nbody", encoding="utf-8")
    assert [p.name for p in iter_files([tmp_path])] == ["a.md"]
    assert sorted(p.name for p in iter_files([SAMPLE_DIR])) == [
        "more-articles.jsonl",
        "north-korea-russia-weapons.md",
        "wire-stories.jsonl",
    ]
    [error] = list(load_path(tmp_path / "notes.pdf"))
    assert isinstance(error, LoadError) and "unsupported" in error.message
