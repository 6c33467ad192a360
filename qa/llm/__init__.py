"""LLM backends behind one interface (base.py): the OpenAI-compatible adapter, the bounded queue in front of it, and the bundled local model server."""
