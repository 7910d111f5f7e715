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
from typing import Any

import numpy as np
from scipy import stats as sps

from sse.analysis import stats as st


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


def _difference(j: int, jb: int, shared: np.ndarray, rates: np.ndarray, boot_acc: np.ndarray, B: int,
                seed: int) -> st.Interval:
    """Paired bootstrap of the accuracy difference on the shared problems."""
    a, b = rates[shared, j], rates[shared, jb]
    diff = float(a.mean() - b.mean()) if a.size else math.nan
    if a.size and shared.all():
        # every problem shared: the joint bootstrap is already paired, reuse it
        return st.percentile_interval(boot_acc[:, j] - boot_acc[:, jb], diff, method="paired bootstrap over problems")
    if a.size:
        bd = st.bootstrap_means(np.column_stack([a, b]), B, seed)
        return st.percentile_interval(bd[:, 0] - bd[:, 1], diff, method="paired bootstrap over problems")
    return st.Interval(math.nan, math.nan, math.nan, "paired bootstrap over problems", "no shared problems")


def compare_to_baseline(rows: list[dict[str, Any]], passes: list[np.ndarray], rates: np.ndarray,
                        boot_acc: np.ndarray, baseline: str, B: int, seed: int) -> list[dict[str, Any]]:
    """Every non-oracle system against the baseline: the sign test (Holm-adjusted over the family),
    the paired bootstrap difference, Welch and paired t on run accuracies, Cohen's d.

    `passes[j]` is system j's problems x runs matrix, `rates` the problems x systems pass rates,
    `boot_acc` the joint problem bootstrap of `rates`; `seed` seeds the bootstrap on partly shared problems."""
    names = [r["name"] for r in rows]
    jb = names.index(baseline)
    Xb = passes[jb]
    out: list[dict[str, Any]] = []
    for j, so in enumerate(rows):
        if so["name"] == baseline or so["oracle"]:
            continue
        shared = ~np.isnan(rates[:, j]) & ~np.isnan(rates[:, jb])
        a, b = rates[shared, j], rates[shared, jb]
        wins, losses, p_sign = sign_test(a, b)
        di = _difference(j, jb, shared, rates, boot_acc, B, seed)
        Xa = passes[j]
        ra = [float(np.nanmean(Xa[shared, r])) for r in range(Xa.shape[1])] if a.size else []
        rb = [float(np.nanmean(Xb[shared, r])) for r in range(Xb.shape[1])] if a.size else []
        welch = welch_t(ra, rb)
        pairs_runs = so["runs"] == rows[jb]["runs"] and len(so["runs"]) >= 2
        paired = paired_t(ra, rb) if pairs_runs else (math.nan, math.nan, math.nan)
        notes = []
        if so["deterministic"] or rows[jb]["deterministic"]:
            notes.append("a deterministic system's runs are copies: run-level t tests are not informative")
        out.append({
            "system": so["name"], "baseline": baseline, "shared_problems": int(shared.sum()),
            "accuracy": float(a.mean()) if a.size else None,
            "baseline_accuracy": float(b.mean()) if b.size else None,
            "difference": di.to_dict(),
            "sign_test": {"system_better": wins, "baseline_better": losses, "p": p_sign,
                          "test": "McNemar exact" if len(so["runs"]) == 1 and len(rows[jb]["runs"]) == 1
                          else "exact sign test on per-problem pass rates"},
            "welch": {"t": welch[0], "df": welch[1], "p": welch[2], "runs": [len(ra), len(rb)]},
            "paired_t": {"t": paired[0], "df": paired[1], "p": paired[2], "applies": pairs_runs},
            "cohens_d": cohens_d(a, b) if a.size else None,
            "notes": notes,
        })
    for c, pa in zip(out, holm([c["sign_test"]["p"] for c in out]), strict=True):
        c["sign_test"]["p_holm"] = pa
        c["sign_test"]["significant_0_05"] = bool(pa is not None and not math.isnan(pa) and pa < 0.05)
    return out
