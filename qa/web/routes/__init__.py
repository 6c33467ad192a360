"""One module per resource: ask (+ check, search), documents (+ jobs), health, the OpenAI-compatible /v1."""
