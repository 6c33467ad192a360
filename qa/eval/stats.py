"""The one way every eval and benchmark reports a latency percentile (nearest rank: a value
that was measured, never an interpolation between two)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]
