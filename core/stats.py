"""Small statistics shared by the quality lab and analytics: Wilson intervals, Cohen's kappa, percentiles."""
from __future__ import annotations

import math
from collections import Counter
from typing import Hashable, Sequence

Z95 = 1.959963984540054  # two-sided 95 %

KAPPA_BANDS = ((0.81, "almost perfect"), (0.61, "substantial"), (0.41, "moderate"), (0.21, "fair"), (0.0, "slight"))


def wilson_interval(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `passed` successes out of `n` (95 % by default); (nan, nan) when n is 0."""
    if n <= 0:
        return math.nan, math.nan
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa between two raters' labels for the same items.

    None when it is undefined: no items, or both raters always gave one and the same label
    (chance agreement is then 1).
    """
    if len(first) != len(second):
        raise ValueError("Both raters must label the same items.")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[label] * right[label] for label in left) / (n * n)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def kappa_band(kappa: float | None) -> str:
    """Landis & Koch's words for a kappa ("substantial" for 0.61-0.80, ...); "poor" below 0."""
    if kappa is None:
        return "not enough votes"
    return next((label for floor, label in KAPPA_BANDS if kappa >= floor), "poor")
