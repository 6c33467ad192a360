"""Request models: `as_of` is accepted at the top level and in `filters`, resolved in one place."""

from datetime import date

import pytest
from pydantic import ValidationError

from qa.domain import Filters
from qa.web.routes.openai_compat import ChatRequest
from qa.web.schemas import AskRequest, SearchRequest

DAY = date(2024, 11, 4)


@pytest.mark.parametrize("model", [AskRequest, SearchRequest, ChatRequest])
def test_as_of_is_read_from_either_place(model: type) -> None:
    base = {"question": "q", "query": "q", "messages": [{"role": "user", "content": "q"}]}
    top = model.model_validate({**base, "as_of": "2024-11-04", "filters": {"source": "Wire"}})
    assert top.scope() == Filters(source="Wire", as_of=DAY)
    inner = model.model_validate({**base, "filters": {"as_of": "2024-11-04"}})
    assert inner.scope() == Filters(as_of=DAY)
    both = model.model_validate({**base, "as_of": "2024-11-04", "filters": {"as_of": "2024-11-04"}})
    assert both.scope() == Filters(as_of=DAY)
    assert model.model_validate(base).scope() is None
    with pytest.raises(ValidationError, match="as_of and filters.as_of name different days"):
        model.model_validate({**base, "as_of": "2024-11-04", "filters": {"as_of": "2024-11-05"}})
