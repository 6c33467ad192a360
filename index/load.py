"""Load articles from JSONL, plain text / Markdown and HTML files into `Document`s."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    Field,
    FiniteFloat,
    ValidationError,
    field_validator,
    model_validator,
)

SUPPORTED_SUFFIXES = {".jsonl", ".txt", ".md", ".markdown", ".html", ".htm"}
# what Chroma can store and compare: no NaN/Infinity, integers within 64 bits
MetadataValue = str | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | FiniteFloat | bool


def invalid_text_at(value: Any) -> str | None:
    """Where the first string that is not valid Unicode sits in parsed JSON (e.g. "text" or
    "history.0.content"), or None. JSON's "\\ud800" escape gives such strings; they cannot be
    encoded, so they are refused at the door rather than failing deep inside."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:  # iterative: input nesting depth must not become our recursion depth
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path or "value"
        elif isinstance(item, dict | list | tuple):
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                shown = str(key).encode("utf-8", "backslashreplace").decode()
                where = f"{path}.{shown}" if path else shown
                stack.append((where, child))
                if isinstance(key, str):
                    stack.append((where, key))
    return None


class ValidText(BaseModel):
    """Base for models read from callers: every string in the input must be valid Unicode."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = invalid_text_at(data)
        if where is not None:
            raise ValueError(f"{where}: not valid Unicode (an unpaired surrogate such as \\ud800)")
        return data


class Document(ValidText):
    """One news article. `id` defaults to a hash of the URL or, failing that, of the content."""

    id: str = Field(default="", max_length=200)
    title: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1)
    url: str | None = None
    source: str | None = None
    published: str | None = None
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)

    @field_validator("title", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("published", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime | date):
            return value.isoformat()
        text = str(value).strip()
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 date such as 2024-11-04") from None
        return text

    def model_post_init(self, __context: Any) -> None:
        if not self.id:
            basis = self.url or f"{self.title}\n{self.text}"
            self.id = hashlib.sha256(basis.encode()).hexdigest()[:16]

    @property
    def content_hash(self) -> str:
        """Hash of everything stored for the document, so any change triggers a re-index."""
        payload = self.model_dump(exclude={"id"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class LoadError:
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "record"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Expand directories (recursively, sorted) into the supported files they contain."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def load_path(path: Path) -> Iterator[Document | LoadError]:
    """Yield the documents of one file, or a `LoadError` per malformed record."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield LoadError(path, None, f"unsupported file type {suffix!r}")
        return
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield LoadError(path, None, f"cannot read file: {exc}")
        return
    if suffix == ".jsonl":
        yield from load_jsonl(raw, path)
    else:
        loader = load_html if suffix in {".html", ".htm"} else load_text
        try:
            yield loader(raw, default_id=path.stem)
        except ValidationError as exc:
            yield LoadError(path, None, describe_validation_error(exc))
        except ValueError as exc:
            yield LoadError(path, None, str(exc))


def load_jsonl(raw: str, path: Path) -> Iterator[Document | LoadError]:
    first_line: dict[str, int] = {}  # id -> the line that used it: a repeat is an error
    for line_no, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(path, line_no, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield LoadError(path, line_no, "each line must be a JSON object")
            continue
        try:
            doc = Document.model_validate(record)
        except ValidationError as exc:
            yield LoadError(path, line_no, describe_validation_error(exc))
            continue
        if doc.id in first_line:
            yield LoadError(
                path,
                line_no,
                f"id {doc.id!r} was already used on line {first_line[doc.id]}; "
                "this line is skipped (give each article its own id)",
            )
            continue
        first_line[doc.id] = line_no
        yield doc


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def load_text(raw: str, default_id: str = "") -> Document:
    """Plain text or Markdown: optional YAML front matter, title from the first heading/line."""
    fields: dict[str, Any] = {}
    match = _FRONT_MATTER.match(raw)
    if match:
        parsed = yaml.safe_load(match.group(1)) or {}
        if not isinstance(parsed, dict):
            raise ValueError("front matter must be a mapping of key: value lines")
        fields = parsed
        raw = raw[match.end() :]
    body = raw.strip()
    if "title" not in fields:
        first, _, rest = body.partition("\n")
        fields["title"] = first.lstrip("#").strip()
        body = rest.strip()
    fields.setdefault("id", default_id)
    return Document.model_validate({**fields, "text": body})


def load_html(raw: str | bytes, default_id: str = "") -> Document:
    """HTML: main text via trafilatura, title/date/source from the page's metadata. Bytes (a
    fetched page) are decoded by trafilatura, which reads the page's own charset."""
    import trafilatura

    text = trafilatura.extract(raw, include_comments=False, include_tables=False)
    if not text:
        raise ValueError("no article text found in the HTML")
    meta = trafilatura.extract_metadata(raw)
    title = (meta.title if meta else None) or text.split("\n", 1)[0][:200]
    return Document(
        id=default_id,
        title=title,
        text=text,
        url=meta.url if meta else None,
        source=meta.sitename if meta else None,
        published=meta.date if meta else None,
    )
