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


def _pareto_sorted(a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, keep): `order` sorts by cost ascending; keep[k] says whether the k-th point in
    that order is non-dominated. One unstable argsort plus O(n) passes: a point survives when
    it has the best accuracy of its equal-cost group and beats every strictly cheaper group."""
    order = np.argsort(c)
    sc, sa = c[order], a[order]
    new = np.empty(sc.size, bool)
    new[0] = True
    np.not_equal(sc[1:], sc[:-1], out=new[1:])
    if new.all():  # fast path, no equal costs: keep points above the running best
        keep = np.empty(sa.size, bool)
        keep[0] = True
        np.greater(sa[1:], np.maximum.accumulate(sa)[:-1], out=keep[1:])
        return order, keep
    starts = np.flatnonzero(new)
    gmax = np.maximum.reduceat(sa, starts)
    prev = np.empty_like(gmax)
    prev[0] = -np.inf
    if gmax.size > 1:
        prev[1:] = np.maximum.accumulate(gmax)[:-1]
    gid = np.cumsum(new) - 1
    best = gmax[gid]
    return order, (sa == best) & (best > prev[gid])


def pareto_2d(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Boolean mask of points not dominated in (max acc, min cost). O(n log n)."""
    a = np.asarray(acc, float)
    c = np.asarray(cost, float)
    out = np.zeros(a.size, bool)
    if a.size:
        order, keep = _pareto_sorted(a, c)
        out[order] = keep
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


def _prune_below_chords(x: np.ndarray, y: np.ndarray, passes: int = 12) -> tuple[np.ndarray, bool]:
    """Vectorised pre-pass for long chains: drop, all at once, every point strictly below the chord
    of its current neighbours (such a point is never on the hull), a few times over. The monotone
    chain then finishes on what is left, so the result is exact whatever the number of passes.
    Returns (kept indices, done): done means no kept point lies below its neighbours' chord, so
    the kept chain is concave everywhere and is already the hull."""
    keep = np.arange(x.size)
    for _ in range(passes):
        if keep.size <= 32:
            break
        kx, ky = x[keep], y[keep]
        u = (kx[1:-1] - kx[:-2]) * (ky[2:] - ky[:-2])
        v = (ky[1:-1] - ky[:-2]) * (kx[2:] - kx[:-2])
        below = u - v > 1e-12 * (np.abs(u) + np.abs(v))
        if not below.any():
            return keep, True
        mask = np.ones(keep.size, bool)
        mask[1:-1] = ~below
        keep = keep[mask]
    return keep, False


def convex_frontier(acc: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Boolean mask of points on the upper convex hull of the Pareto set in (cost, acc).

    Monotone chain over the distinct Pareto points sorted by cost (accuracy then
    rises strictly); a middle point is dropped only when it lies strictly below
    the chord of its neighbours. Identical points share a fate. Long chains are
    first thinned by a vectorised pass (see _prune_below_chords).
    """
    a = np.asarray(acc, float)
    c = np.asarray(cost, float)
    out = np.zeros(a.size, bool)
    if a.size == 0:
        return out
    order, keep = _pareto_sorted(a, c)
    idx = order[keep]  # Pareto points, cost ascending; duplicates adjacent
    xs, ys = c[idx], a[idx]
    new = np.ones(idx.size, bool)
    new[1:] = xs[1:] != xs[:-1]  # Pareto points with equal cost also share accuracy: identical
    dup = not new.all()
    if dup:
        xs, ys = xs[new], ys[new]
    on_unique = np.zeros(xs.size, bool)
    cand, done = _prune_below_chords(xs, ys) if xs.size > 32 else (np.arange(xs.size), False)
    if done:
        on_unique[cand] = True
    else:
        ux, uy = xs[cand].tolist(), ys[cand].tolist()
        hull: list[int] = []
        for k in range(len(ux)):
            while len(hull) >= 2:
                o, m = hull[-2], hull[-1]
                u = (ux[m] - ux[o]) * (uy[k] - uy[o])
                v = (uy[m] - uy[o]) * (ux[k] - ux[o])
                if u - v > 1e-12 * (abs(u) + abs(v)):  # m strictly below chord o->k (relative tolerance)
                    hull.pop()
                else:
                    break
            hull.append(k)
        on_unique[cand[hull]] = True
    out[idx] = on_unique[np.cumsum(new) - 1] if dup else on_unique
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
