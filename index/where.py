"""Chroma's `where` clauses, as `qa.retrieve.chroma_where` writes them, evaluated on one chunk's
metadata: so a search can run unfiltered (fast HNSW) and filter its hits afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_COMPARE = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
}


def admits(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """True when the metadata satisfy the clause; ValueError for an operator it does not know."""
    for key, condition in where.items():
        if key == "$and":
            if not all(admits(meta, part) for part in condition):
                return False
        elif key == "$or":
            if not any(admits(meta, part) for part in condition):
                return False
        elif isinstance(condition, Mapping):
            for op, value in condition.items():
                if op not in _COMPARE:
                    raise ValueError(f"where operator {op!r} is not supported here")
                if key not in meta or not _COMPARE[op](meta[key], value):
                    return False
        elif meta.get(key) != condition or key not in meta:
            return False
    return True
