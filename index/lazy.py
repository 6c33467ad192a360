"""A `Store` over a Chroma server that may not be up yet: the API starts anyway, answers 503 on
what needs the store, and connects on the first use after the server comes up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from index.store import Store


class StoreUnavailable(Exception):
    """The Chroma server cannot be reached (yet)."""


class LazyStore(Store):
    def __init__(self, connect: Callable[[], Any], collection: str, retry_s: float = 1.0):
        # the store's own fields appear on first successful use; until then __getattr__ connects
        self._lazy_connect = connect
        self._lazy_collection = collection
        self._lazy_lock = threading.Lock()
        self._lazy_retry_s = retry_s
        self._lazy_failed_at = float("-inf")
        self._lazy_error = ""
        self.version = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_lazy_", "__")):
            raise AttributeError(name)
        self._lazy_open()
        return object.__getattribute__(self, name)

    def _lazy_open(self) -> None:
        with self._lazy_lock:
            if "client" in vars(self):
                return
            # a down server costs a failed connect per second at most, not one per request
            if time.monotonic() - self._lazy_failed_at < self._lazy_retry_s:
                raise StoreUnavailable(self._lazy_error)
            try:
                real = Store(self._lazy_connect(), self._lazy_collection)
            except Exception as exc:  # chromadb raises ValueError, httpx errors, ... when down
                self._lazy_failed_at = time.monotonic()
                self._lazy_error = f"cannot reach the Chroma server: {exc}"
                raise StoreUnavailable(self._lazy_error) from exc
            fields = {k: v for k, v in vars(real).items() if k != "version"}
            vars(self).update(fields)
