"""Small statistics helpers (nearest-rank percentiles: no interpolation between samples) and runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "n/a"


def spread(values: Sequence[float], show: Callable[[float], str]) -> str:
    """'median (min..max)' of one figure's runs."""
    return f"{show(median(values))} ({show(min(values))}..{show(max(values))}, {len(values)} runs)"


def alternate(variants: dict[str, Callable[[], T]], runs: int) -> dict[str, list[T]]:
    """Run every variant `runs` times, alternating their order each round, so that a slow drift of
    the machine (another process waking up, a CPU clocking down) does not favour one of them."""
    results: dict[str, list[T]] = {name: [] for name in variants}
    names = list(variants)
    for round_number in range(runs):
        for name in names if round_number % 2 == 0 else reversed(names):
            results[name].append(variants[name]())
    return results
