"""Binomial statistics for verdicts and re-runs. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

__all__ = ["RERUN_LEVEL", "Tolerance", "compare_rerun", "verdict", "wilson"]

# A re-run agrees when the two proportions do not differ at this confidence (two-sided).
RERUN_LEVEL = 0.99


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion; (0, 1) when there is no sample."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError("successes must lie between 0 and n")
    z = _z(level)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def verdict(
    low: float, high: float, comparator: Literal[">=", "<="], threshold: float
) -> Literal["met", "not_met", "inconclusive"]:
    """Met when the whole interval satisfies the threshold, not met when none of it does."""
    if comparator == ">=":
        if low >= threshold:
            return "met"
        return "not_met" if high < threshold else "inconclusive"
    if high <= threshold:
        return "met"
    return "not_met" if low > threshold else "inconclusive"


@dataclass(frozen=True)
class Tolerance:
    difference: float
    allowed: float

    @property
    def within(self) -> bool:
        return self.difference <= self.allowed + 1e-12


def compare_rerun(s1: int, n1: int, s2: int, n2: int, level: float = RERUN_LEVEL) -> Tolerance:
    """Whether two runs' proportions agree: the pooled two-proportion bound at ``level``, at least one sample.

    The floor of one sample keeps a deterministic model that flips a single borderline answer on other
    hardware from failing a re-run whose rates are otherwise identical.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both runs need samples")
    pooled = (s1 + s2) / (n1 + n2)
    bound = _z(level) * math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return Tolerance(abs(s1 / n1 - s2 / n2), max(bound, 1 / min(n1, n2)))
