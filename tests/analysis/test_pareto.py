"""Pareto sets and the convex frontier against brute force (property-based)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from sse.analysis import pareto as par

points = hst.lists(hst.tuples(hst.integers(0, 12), hst.integers(0, 12)), min_size=1, max_size=14)


def brute_pareto(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    n = a.size
    return np.array([not any(a[j] >= a[i] and c[j] <= c[i] and (a[j] > a[i] or c[j] < c[i]) for j in range(n))
                     for i in range(n)])


def brute_convex(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """i is on the convex frontier iff no system and no two-system mix strictly dominates it."""
    nd = brute_pareto(a, c)
    out = nd.copy()
    n = a.size
    for i in range(n):
        if not nd[i]:
            continue
        for j in range(n):
            for k in range(n):
                if c[j] < c[i] < c[k]:
                    # mix at cost c[i]: acc = a_j + (c_i - c_j)/(c_k - c_j) * (a_k - a_j); integer-exact compare
                    if a[j] * (c[k] - c[j]) + (c[i] - c[j]) * (a[k] - a[j]) > a[i] * (c[k] - c[j]):
                        out[i] = False
    return out


@given(points)
@settings(max_examples=300, deadline=None)
def test_pareto_2d_matches_brute_force(pts: list[tuple[int, int]]) -> None:
    a = np.array([p[0] for p in pts], float)
    c = np.array([p[1] for p in pts], float)
    assert np.array_equal(par.pareto_2d(a, c), brute_pareto(a, c))


@given(points)
@settings(max_examples=300, deadline=None)
def test_convex_frontier_matches_brute_force(pts: list[tuple[int, int]]) -> None:
    a = np.array([p[0] for p in pts], float)
    c = np.array([p[1] for p in pts], float)
    assert np.array_equal(par.convex_frontier(a, c), brute_convex(a, c))


@given(points)
@settings(max_examples=200, deadline=None)
def test_beating_mix_really_beats(pts: list[tuple[int, int]]) -> None:
    a = np.array([p[0] for p in pts], float)
    c = np.array([p[1] for p in pts], float)
    hull = par.convex_frontier(a, c)
    for i in np.flatnonzero(~hull):
        m = par.beating_mix(a, c, hull, int(i))
        assert m is not None
        assert hull[m.low] and hull[m.high] and 0.0 <= m.p <= 1.0
        assert m.cost <= c[i] + 1e-9 and m.acc >= a[i] - 1e-9
        assert m.cost < c[i] - 1e-12 or m.acc > a[i] + 1e-12
        assert m.cost == pytest.approx((1 - m.p) * c[m.low] + m.p * c[m.high])
        assert m.acc == pytest.approx((1 - m.p) * a[m.low] + m.p * a[m.high])


@given(hst.lists(hst.tuples(hst.integers(0, 6), hst.integers(0, 6), hst.integers(0, 6)), min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_pareto_nd_matches_brute_force(pts: list[tuple[int, int, int]]) -> None:
    v = np.array(pts, float)
    got = par.pareto_nd(v, np.array([True, False, False]))
    want = [not any(v[j, 0] >= v[i, 0] and v[j, 1] <= v[i, 1] and v[j, 2] <= v[i, 2] and
                    (v[j, 0] > v[i, 0] or v[j, 1] < v[i, 1] or v[j, 2] < v[i, 2]) for j in range(len(v)))
            for i in range(len(v))]
    assert got.tolist() == want


def test_ties_single_and_collinear() -> None:
    # identical points: both on the frontier
    assert par.convex_frontier(np.array([0.5, 0.5]), np.array([1.0, 1.0])).tolist() == [True, True]
    # a single system is its own frontier
    assert par.convex_frontier(np.array([0.3]), np.array([2.0])).tolist() == [True]
    # collinear middle point: no mix strictly beats it
    assert par.convex_frontier(np.array([0.2, 0.5, 0.8]), np.array([1.0, 2.0, 3.0])).tolist() == [True] * 3
    # middle point below the chord: dominated by a 50/50 mix
    a, c = np.array([0.2, 0.4, 0.8]), np.array([1.0, 2.0, 3.0])
    hull = par.convex_frontier(a, c)
    assert hull.tolist() == [True, False, True]
    m = par.beating_mix(a, c, hull, 1)
    assert m is not None and m.p == pytest.approx(0.5) and m.acc == pytest.approx(0.5) and m.cost == 2.0
    # same accuracy, higher cost: dominated by the cheaper system alone
    a, c = np.array([0.5, 0.5]), np.array([1.0, 2.0])
    assert par.pareto_2d(a, c).tolist() == [True, False]
    m = par.beating_mix(a, c, par.convex_frontier(a, c), 1)
    assert m is not None and m.low == m.high == 0


def test_frontier_probability() -> None:
    acc = np.array([[0.5, 0.4], [0.5, 0.6], [0.5, 0.6], [0.5, 0.4]])
    cost = np.array([[1.0, 2.0]] * 4)
    prob = par.frontier_probability(acc, cost)
    assert prob.tolist() == [1.0, 0.5]
    assert par.frontier_probability(np.array([[0.1]]), np.array([[1.0]])).tolist() == [1.0]


@given(hst.lists(hst.tuples(hst.integers(0, 40), hst.integers(0, 40)), min_size=1, max_size=25,
                 unique_by=lambda p: p[1]))
@settings(max_examples=300, deadline=None)
def test_distinct_costs_fast_path_matches_brute_force(pts: list[tuple[int, int]]) -> None:
    a = np.array([p[0] for p in pts], float)
    c = np.array([p[1] for p in pts], float)
    assert np.array_equal(par.pareto_2d(a, c), brute_pareto(a, c))
    assert np.array_equal(par.convex_frontier(a, c), brute_convex(a, c))


def reference_chain(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Plain monotone chain over the brute-force Pareto set (validated above on small sets)."""
    mask = brute_pareto(a, c)
    nd = np.flatnonzero(mask)
    pts = sorted({(c[i], a[i]) for i in nd})
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                                  - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])) > 0:
            hull.pop()
        hull.append(p)
    on = set(hull)
    return np.array([(c[i], a[i]) in on and bool(mask[i]) for i in range(a.size)])


@given(hst.lists(hst.tuples(hst.integers(1, 10**6), hst.integers(-3, 3)), min_size=33, max_size=150,
                 unique_by=lambda p: p[0]))
@settings(max_examples=60, deadline=None)
def test_long_chains_use_the_vectorised_prune_exactly(pts: list[tuple[int, int]]) -> None:
    import math

    c = np.array([p[0] for p in pts], float)
    a = np.array([math.isqrt(p[0] * 1000) + p[1] for p in pts], float)  # concave trend + integer noise
    assert np.array_equal(par.convex_frontier(a, c), reference_chain(a, c))
    hull_only = np.sqrt(np.sort(c))  # strictly concave: all on the hull
    assert par.convex_frontier(hull_only, np.sort(c)).all()
