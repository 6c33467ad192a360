"""A bounded schemathesis run over the OpenAPI schema: every operation, generated (and invalid)
inputs, against the real app over HTTP with the fake LLM. No answer may be a 5xx, and every 4xx
must be the JSON error shape. `make fuzz` runs more examples (FUZZ_EXAMPLES)."""

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.case import Case

from index.embed import MiniLMEmbedder
from qa.testing.llm_server import FakeLLM
from qa.testing.servers import serve_app
from qa.web.app import create_app
from tests.utils.support import ARTIFACTS, make_settings, sample_docs

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # per operation
STATUSES: Counter[str] = Counter()
OPERATIONS: set[str] = set()


@pytest.fixture(scope="module")
def fuzz_target(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: MiniLMEmbedder,
    fake_llm_server: tuple[FakeLLM, str],
) -> Iterator[str]:
    state, llm_url = fake_llm_server
    state.reset()
    data = tmp_path_factory.mktemp("fuzz")
    # no rate limit and room in the LLM queue: the fuzzer is one very fast client
    config = make_settings(data, llm_url, rate_limit="off", llm_concurrency=4)
    with serve_app(create_app(config, embedder=embedder)) as url:
        import httpx

        assert httpx.post(f"{url}/documents", json=sample_docs(), timeout=120).status_code == 200
        yield url
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {
        "operations": len(OPERATIONS),
        "examples_per_operation": EXAMPLES,
        "requests": sum(STATUSES.values()),
        **STATUSES,
    }
    (ARTIFACTS / "fuzz.json").write_text(json.dumps(summary, indent=2))
    print(f"\nfuzz: {json.dumps(summary)}", file=sys.stderr)


def check(case: Case) -> None:
    response = case.call(timeout=60)
    STATUSES[f"{response.status_code // 100}xx"] += 1
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), where
        error = body.get("error")
        assert isinstance(error, dict), where
        assert isinstance(error.get("type"), str) and isinstance(error.get("message"), str), where


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_4xx_is_a_json_error(fuzz_target: str, mode: GenerationMode) -> None:
    """Inputs that fit the schema, then inputs that break it, for every operation."""
    schema = schemathesis.openapi.from_url(f"{fuzz_target}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # the whole API, not a corner of it
    failures = []
    for operation in operations:
        OPERATIONS.add(operation.label)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,  # no .hypothesis folder in the work tree
            derandomize=True,  # the same inputs on every run: a failure is reproducible
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Case) -> None:
            check(case)

        try:
            fuzz()
        except Unsatisfiable:
            # no input can break this operation's schema (no body, free-form strings only)
            assert mode == GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect per operation, report all of them
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
