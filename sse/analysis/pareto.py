"""Pareto sets and the convex cost/accuracy frontier.

Accuracy is maximised, cost (and latency) minimised. A random mix of two systems
(run A with probability 1-p, B with p) is itself a system whose cost and accuracy
are the p-weighted averages, so the achievable frontier is the upper convex hull
of the non-dominated points in (cost, accuracy). Points on a hull edge (collinear)
count as on the frontier: no mix strictly beats them. Identical points are
treated alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pareto_2d(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Boolean mask of points not dominated in (max acc, min cost). O(n log n)."""
    a = np.asarray(acc, float)
    c = np.asarray(cost, float)
    n = a.size
    if n == 0:
        return np.zeros(0, bool)
    order = np.lexsort((-a, c))
    sa, sc = a[order], c[order]
    gs = np.searchsorted(sc, sc, side="left")  # first index of each equal-cost group
    cm = np.maximum.accumulate(sa)
    prev = np.where(gs > 0, cm[np.maximum(gs - 1, 0)], -np.inf)
    keep_sorted = (sa > prev) & (sa == sa[gs])
    out = np.zeros(n, bool)
    out[order] = keep_sorted
    return out


def pareto_nd(values: np.ndarray, maximize: np.ndarray) -> np.ndarray:
    """Boolean mask of non-dominated rows; `maximize[j]` says column j is better when larger."""
    v = np.asarray(values, float).copy()
    sign = np.where(np.asarray(maximize, bool), -1.0, 1.0)
    v = v * sign  # now every column is minimised
    n = v.shape[0]
    keep = np.ones(n, bool)
    for i in range(n):
        le = np.all(v <= v[i], axis=1)
        lt = np.any(v < v[i], axis=1)
        if np.any(le & lt):
            keep[i] = False
    return keep


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_frontier(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Boolean mask of points on the upper convex hull of the Pareto set in (cost, acc).

    Monotone chain over the Pareto points sorted by cost (accuracy then rises
    strictly); a middle point is dropped only when it lies strictly below the
    chord of its neighbours.
    """
    a = np.asarray(acc, float)
    c = np.asarray(cost, float)
    par = np.flatnonzero(pareto_2d(a, c))
    out = np.zeros(a.size, bool)
    if par.size == 0:
        return out
    # distinct Pareto coordinates (identical points share a fate), sorted by cost
    coords = sorted({(float(c[i]), float(a[i])) for i in par})
    hull: list[tuple[float, float]] = []
    for p in coords:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) > 0:
            hull.pop()  # hull[-1] strictly below the chord hull[-2] -> p
        hull.append(p)
    on = set(hull)
    for i in par:
        if (float(c[i]), float(a[i])) in on:
            out[i] = True
    return out


@dataclass(frozen=True)
class Mix:
    """Run `low` with probability 1 - p and `high` with probability p."""

    low: int
    high: int
    p: float
    cost: float
    acc: float


def beating_mix(acc: np.ndarray, cost: np.ndarray, frontier: np.ndarray, i: int) -> Mix | None:
    """The mix of two frontier systems at system i's cost (or cheaper) that beats it, if any.

    Between two adjacent frontier points the mix at i's cost has the hull's
    accuracy there; outside the frontier's cost range the nearest end point
    itself (p = 0 or 1) dominates.
    """
    a = np.asarray(acc, float)
    c = np.asarray(cost, float)
    idx = np.flatnonzero(frontier)
    if idx.size == 0 or frontier[i]:
        return None
    idx = idx[np.lexsort((a[idx], c[idx]))]
    ci, ai = c[i], a[i]
    if ci <= c[idx[0]]:
        j = idx[0]
        return Mix(int(j), int(j), 0.0, float(c[j]), float(a[j])) if a[j] >= ai else None
    if ci >= c[idx[-1]]:
        j = idx[-1]
        return Mix(int(j), int(j), 0.0, float(c[j]), float(a[j])) if a[j] >= ai else None
    k = int(np.searchsorted(c[idx], ci, side="right"))
    lo, hi = idx[k - 1], idx[k]
    if c[hi] == c[lo]:
        return Mix(int(hi), int(hi), 0.0, float(c[hi]), float(a[hi]))
    p = float((ci - c[lo]) / (c[hi] - c[lo]))
    mix_acc = float(a[lo] + p * (a[hi] - a[lo]))
    if mix_acc < ai:
        return None
    return Mix(int(lo), int(hi), p, float(ci), mix_acc)


def frontier_probability(acc_boot: np.ndarray, cost_boot: np.ndarray) -> np.ndarray:
    """Share of bootstrap resamples (rows) in which each system (column) is on the convex frontier."""
    a = np.asarray(acc_boot, float)
    c = np.asarray(cost_boot, float)
    hits = np.zeros(a.shape[1])
    valid = 0
    for b in range(a.shape[0]):
        ok = np.isfinite(a[b]) & np.isfinite(c[b])
        if not ok.any():
            continue
        valid += 1
        on = np.zeros(a.shape[1], bool)
        on[ok] = convex_frontier(a[b, ok], c[b, ok])
        hits += on
    return hits / valid if valid else np.full(a.shape[1], np.nan)
