from index.chunk import chunk_text, count_tokens, split_sentences
from index.load import Document, load_path
from tests.utils.support import SAMPLE_ARTICLE


def sample() -> Document:
    [doc] = list(load_path(SAMPLE_ARTICLE))
    assert isinstance(doc, Document)
    return doc


def test_sentence_spans_round_trip() -> None:
    text = "He said: “It is over.” Then he left.\nA new paragraph begins here! Does it end?"
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == [
        "He said: “It is over.”",
        "Then he left.",
        "A new paragraph begins here!",
        "Does it end?",
    ]


def test_chunks_round_trip_to_document_offsets() -> None:
    doc = sample()
    chunks = chunk_text(doc.id, doc.text, max_tokens=64, overlap=16)
    assert len(chunks) > 3
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= 64
    # every sentence of the article is in some chunk
    for span in split_sentences(doc.text):
        assert any(c.start <= span.start and span.end <= c.end for c in chunks)


def test_chunks_overlap_and_start_on_sentence_boundaries() -> None:
    doc = sample()
    chunks = chunk_text(doc.id, doc.text, max_tokens=64, overlap=24)
    starts = {s.start for s in split_sentences(doc.text)}
    assert all(c.start in starts for c in chunks)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


def test_weapons_sentence_is_never_cut() -> None:
    doc = sample()
    sentence = "The JCS has detected the North supplying more 240mm multiple rocket launchers"
    for size in (48, 96, 128, 256):
        assert any(sentence in c.text for c in chunk_text(doc.id, doc.text, size, size // 4))


def test_overlong_sentence_is_split_at_token_boundaries() -> None:
    text = "word " * 400 + "end."
    chunks = chunk_text("d", text, max_tokens=50, overlap=10)
    assert len(chunks) >= 8
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= 51


def test_chunk_ids_change_with_content_only() -> None:
    a = chunk_text("doc", "First sentence. Second sentence.", 64, 8)
    b = chunk_text("doc", "First sentence. Second sentence.", 64, 8)
    c = chunk_text("doc", "First sentence. Changed sentence.", 64, 8)
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id != c[0].id and a[0].id.startswith("doc:0:")


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "Col. Kim Jun-rak spoke. The court overturned Roe v. Wade. U.S. officials met at 3 p.m. on Friday."
    assert [text[s.start : s.end] for s in split_sentences(text)] == [
        "Col. Kim Jun-rak spoke.",
        "The court overturned Roe v. Wade.",
        "U.S. officials met at 3 p.m. on Friday.",
    ]


def test_stray_periods_and_ellipses_do_not_crash() -> None:
    text = "He said . Then . . . It ended.\n. Next line ..."
    spans = split_sentences(text)
    assert spans and all(text[s.start : s.end].strip() for s in spans)
