"""Kept so older imports work: the server helpers live in `qa.testing` (benchmarks use them too)."""

from qa.testing import free_port, serve_app, subprocess_server, wait_http

__all__ = ["free_port", "serve_app", "subprocess_server", "wait_http"]
