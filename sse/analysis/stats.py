"""Accuracy and its uncertainty: t intervals over runs, bootstraps over problems, Wilson, pass@k.

The unit of inference is the problem: bootstraps resample problems (and, for the
cluster bootstrap, runs as a second, crossed factor). Resampling is expressed as
count-weight matrices so that one matrix product evaluates every resample at
once, and the same weights serve accuracy, cost and paired differences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

# Py2Rs level weights (level 1..10) for the weighted composite score.
LEVEL_WEIGHTS: dict[int, float] = {1: 1.0, 2: 1.5, 3: 2.0, 4: 3.0, 5: 4.0, 6: 5.0, 7: 7.0, 8: 10.0, 9: 15.0, 10: 20.0}
DEFAULT_RESAMPLES = 10_000
_CHUNK = 2_000  # resamples per block: bounds memory at CHUNK x problems counts


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    method: str
    note: str = ""

    def to_dict(self) -> dict[str, float | str | None]:
        def f(x: float) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {"estimate": f(self.estimate), "lo": f(self.lo), "hi": f(self.hi), "method": self.method,
                "note": self.note}


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval, df = n - 1. One value gives no interval (NaN bounds)."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, "student-t", "no runs")
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, "student-t", "one run: no run-to-run interval")
    sd = 0.0 if np.ptp(x) == 0 else float(x.std(ddof=1))  # identical runs: exactly zero, not round-off
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    note = "zero spread across runs" if sd == 0 else ""
    return Interval(mean, mean - half, mean + half, f"student-t df={n - 1}", note)


def wilson(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for k successes in n trials."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, "wilson", "no trials")
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)  # exact bounds at the edges, not round-off
    hi = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, lo, hi, "wilson")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), in a stable product form."""
    if k > n or n <= 0:
        raise ValueError(f"pass@k needs 1 <= k <= n, got n={n} k={k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def pass_at_k_table(passes: np.ndarray, counts: np.ndarray, max_k: int) -> dict[int, float]:
    """Mean unbiased pass@k over problems for k = 1..max_k, using problems with >= k samples."""
    out: dict[int, float] = {}
    for k in range(1, max_k + 1):
        vals = [pass_at_k(int(n), int(c), k) for n, c in zip(counts, passes, strict=True) if n >= k]
        if vals:
            out[k] = float(np.mean(vals))
    return out


def problem_weights(n_problems: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Count matrix (resamples x problems): how often each problem is drawn in each resample."""
    idx = rng.integers(0, n_problems, size=(resamples, n_problems))
    flat = idx + (np.arange(resamples)[:, None] * n_problems)
    return np.bincount(flat.ravel(), minlength=resamples * n_problems).reshape(resamples, n_problems).astype(
        np.float64)


def iter_problem_weights(n_problems: int, resamples: int, seed: int):
    """Yield blocks of count weights; the stream depends only on (seed, n_problems, resamples)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        b = min(_CHUNK, resamples - done)
        yield problem_weights(n_problems, b, rng)
        done += b


def bootstrap_means(values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap distribution of column means over problems.

    `values` is problems x columns (e.g. per-problem pass rate per system), NaN
    where a column has no value for a problem; resampling is joint across
    columns so that differences between columns are paired.
    Returns resamples x columns.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    mask = ~np.isnan(v)
    filled = np.where(mask, v, 0.0)
    m = mask.astype(float)
    parts = []
    for w in iter_problem_weights(v.shape[0], resamples, seed):
        num = w @ filled
        den = w @ m
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(num / den)
    return np.vstack(parts)


def percentile_interval(dist: np.ndarray, estimate: float, confidence: float = 0.95, method: str = "bootstrap",
                        note: str = "") -> Interval:
    d = dist[np.isfinite(dist)]
    if d.size == 0:
        return Interval(estimate, math.nan, math.nan, method, "no finite resamples")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(d, [a, 1 - a])
    return Interval(estimate, float(lo), float(hi), method, note)


def cluster_bootstrap(matrix: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Two-way (problems x runs) cluster bootstrap of the grand mean of one problems x runs matrix.

    Problems and runs are resampled independently with replacement; each
    resample's estimate is sum_pr Wp[p] Wr[r] X[p,r] / sum_pr Wp[p] Wr[r] M[p,r]
    over observed cells M. Returns one estimate per resample.
    """
    return cluster_bootstrap_many([matrix], resamples, seed)[0]


def cluster_bootstrap_many(matrices: Sequence[np.ndarray], resamples: int = DEFAULT_RESAMPLES,
                           seed: int = 0) -> list[np.ndarray]:
    """Cluster bootstrap for several systems over the same problems (rows), sharing the
    problem draws (so the systems stay paired); each system draws its own runs."""
    xs = [np.asarray(m, dtype=float) for m in matrices]
    if not xs:
        return []
    n_p = xs[0].shape[0]
    cols = np.cumsum([0] + [x.shape[1] for x in xs])
    allx = np.hstack(xs)
    missing = np.isnan(allx)
    filled = np.where(missing, 0.0, allx)
    observed = (~missing).astype(float)
    rng = np.random.default_rng(seed)
    outs: list[list[np.ndarray]] = [[] for _ in xs]
    done = 0
    while done < resamples:
        b = min(_CHUNK, resamples - done)
        wp = problem_weights(n_p, b, rng)
        z = wp @ filled  # one product for every system's runs: resamples x sum(runs)
        zm = wp @ observed if missing.any() else None
        for k in range(len(xs)):
            lo, hi = cols[k], cols[k + 1]
            wr = problem_weights(int(hi - lo), b, rng)
            num = np.einsum("br,br->b", wr, z[:, lo:hi])
            # no missing cells: sum_pr Wp Wr = problems x runs exactly
            den = np.einsum("br,br->b", wr, zm[:, lo:hi]) if zm is not None else float(n_p * (hi - lo))
            with np.errstate(invalid="ignore", divide="ignore"):
                outs[k].append(num / den)
        done += b
    return [np.concatenate(o) for o in outs]


def weighted_composite(level_rates: dict[int, float]) -> float | None:
    """Py2Rs composite: sum_l w_l * rate_l / sum_l w_l over the levels present."""
    num = den = 0.0
    for lvl, rate in level_rates.items():
        w = LEVEL_WEIGHTS.get(int(lvl))
        if w is None or rate is None or not math.isfinite(rate):
            continue
        num += w * rate
        den += w
    return num / den if den > 0 else None
