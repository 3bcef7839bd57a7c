"""Confidence intervals for accuracy and paired tests between two models on the same problems."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel
from scipy import stats


def wilson_interval(correct: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (sensible at 0 % and 100 %, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(0.5 + level / 2)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At 0 % and 100 % the bound equals p exactly; rounding would put it a hair on the wrong side.
    return (min(p, max(0.0, float(centre - half))), max(p, min(1.0, float(centre + half))))


class PairedTest(BaseModel):
    """Model B against model A on the same n problems."""

    n: int
    a_correct: int
    b_correct: int
    only_a: int  # problems A solved and B did not
    only_b: int
    mcnemar_p: float  # exact (binomial) McNemar test, two-sided
    wilcoxon_p: float  # Wilcoxon signed-rank test on the per-problem scores, two-sided (the paper's test)

    @property
    def difference(self) -> float:
        return (self.b_correct - self.a_correct) / self.n if self.n else 0.0


def paired_test(a: Sequence[bool], b: Sequence[bool]) -> PairedTest:
    """`a[i]`, `b[i]`: whether each model solved problem i."""
    if len(a) != len(b):
        raise ValueError(f"paired test needs the same problems for both models ({len(a)} vs {len(b)})")
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    discordant = only_a + only_b
    mcnemar = stats.binomtest(only_b, discordant, 0.5).pvalue if discordant else 1.0
    if discordant:
        wilcoxon = stats.wilcoxon([float(y) - float(x) for x, y in zip(a, b)], zero_method="wilcox").pvalue
    else:
        wilcoxon = 1.0
    return PairedTest(
        n=len(a),
        a_correct=sum(map(bool, a)),
        b_correct=sum(map(bool, b)),
        only_a=only_a,
        only_b=only_b,
        mcnemar_p=float(mcnemar),
        wilcoxon_p=float(wilcoxon),
    )


def format_p(p: float | None) -> str:
    """0.0031, 1.2e-05; a dash when there is no test."""
    return "—" if p is None else f"{p:.2g}"
