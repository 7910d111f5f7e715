"""Paired comparisons of a system against a baseline on the problems both attempted.

Primary test: an exact sign test on per-problem pass rates (problems where the
system beats the baseline vs the reverse, ties dropped). With one run per system
this is exactly McNemar's exact test on the discordant pairs. Secondary: a paired
bootstrap of the accuracy difference, Welch's t and (where run indices pair) a
paired t on run-level accuracies, Cohen's d on per-problem pass rates. Holm-
Bonferroni adjusts the primary p-values over the whole family of comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from discordant counts b (A only) and c (B only)."""
    n = b + c
    if n == 0:
        return 1.0
    return float(sps.binomtest(b, n, 0.5, alternative="two-sided").pvalue)


def welch_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Welch's t (statistic, df, two-sided p). NaN where a group has < 2 values or no spread."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size < 2 or y.size < 2:
        return math.nan, math.nan, math.nan
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se2 = vx + vy
    if se2 == 0:
        return math.nan, math.nan, math.nan
    t = (x.mean() - y.mean()) / math.sqrt(se2)
    df = se2 ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
    p = 2 * float(sps.t.sf(abs(t), df))
    return float(t), float(df), p


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Paired t (statistic, df, two-sided p) on matched values. NaN when undefined."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.size < 2:
        return math.nan, math.nan, math.nan
    sd = d.std(ddof=1)
    if sd == 0:
        return math.nan, float(d.size - 1), math.nan
    t = d.mean() / (sd / math.sqrt(d.size))
    df = d.size - 1
    return float(t), float(df), 2 * float(sps.t.sf(abs(t), df))


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """(mean a - mean b) / sqrt((var a + var b) / 2), sample variances. 0 when both are constant and equal."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size < 2 or y.size < 2:
        return math.nan
    diff = x.mean() - y.mean()
    s = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    if s == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(diff / s)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1). NaN stays NaN."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out.tolist()
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out.tolist()


def sign_test(rates_a: np.ndarray, rates_b: np.ndarray) -> tuple[int, int, float]:
    """Problems where A > B, where B > A, and the exact two-sided p (McNemar with one run)."""
    wins = int(np.sum(rates_a > rates_b))
    losses = int(np.sum(rates_b > rates_a))
    return wins, losses, mcnemar_exact(wins, losses)
