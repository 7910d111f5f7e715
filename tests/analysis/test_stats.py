"""Every statistic against scipy and hand-computed cases, including the edge cases."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from scipy import stats as sps

from sse.analysis import stats as st


@pytest.mark.parametrize("values", [[0.5, 0.6, 0.7], [0.9, 0.8, 0.85, 0.95, 0.7], [0.1, 0.3]])
def test_t_interval_matches_scipy(values: list[float]) -> None:
    iv = st.t_interval(values)
    x = np.array(values)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert iv.lo == pytest.approx(lo) and iv.hi == pytest.approx(hi)
    half = sps.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert iv.hi - iv.estimate == pytest.approx(half)


def test_t_interval_hand_computed() -> None:
    # mean 0.6, sd 0.1, n 3: half = 4.302653 * 0.1 / sqrt(3) = 0.248414
    iv = st.t_interval([0.5, 0.6, 0.7])
    assert iv.estimate == pytest.approx(0.6)
    assert iv.hi - 0.6 == pytest.approx(0.248414, abs=1e-6)
    assert iv.method == "student-t df=2"


def test_t_interval_one_run_and_zero_spread() -> None:
    one = st.t_interval([0.7])
    assert one.estimate == 0.7 and math.isnan(one.lo) and "one run" in one.note
    flat = st.t_interval([0.4, 0.4, 0.4])
    assert flat.lo == flat.hi == pytest.approx(0.4) and "zero spread" in flat.note


@pytest.mark.parametrize("k,n", [(8, 10), (0, 10), (10, 10), (1, 1), (37, 120)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    iv = st.wilson(k, n)
    ref = sps.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert iv.lo == pytest.approx(ref.low, abs=1e-12) and iv.hi == pytest.approx(ref.high, abs=1e-12)


def test_wilson_hand_and_edges() -> None:
    iv = st.wilson(8, 10)  # textbook: 0.4902 .. 0.9433
    assert iv.lo == pytest.approx(0.4902, abs=1e-4) and iv.hi == pytest.approx(0.9433, abs=1e-4)
    assert st.wilson(10, 10).hi == 1.0 and st.wilson(10, 10).lo < 1.0   # all pass
    assert st.wilson(0, 10).lo == 0.0 and st.wilson(0, 10).hi > 0.0     # all fail
    assert math.isnan(st.wilson(0, 0).lo)


def test_pass_at_k_against_combinatorics() -> None:
    for n in range(1, 8):
        for c in range(0, n + 1):
            for k in range(1, n + 1):
                exact = 1 - math.comb(n - c, k) / math.comb(n, k)
                assert st.pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)
    assert st.pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert st.pass_at_k(5, 0, 3) == 0.0 and st.pass_at_k(5, 5, 3) == 1.0
    with pytest.raises(ValueError):
        st.pass_at_k(3, 1, 4)


def test_pass_at_k_table_uses_problems_with_enough_samples() -> None:
    t = st.pass_at_k_table(np.array([1, 2]), np.array([2, 3]), 3)
    assert t[1] == pytest.approx((0.5 + 2 / 3) / 2)
    assert t[3] == pytest.approx(1.0)  # only the 3-sample problem, c=2 of 3 -> pass@3 = 1


def test_bootstrap_matches_scipy_percentile() -> None:
    rng = np.random.default_rng(1)
    x = (rng.random(200) < 0.62).astype(float)
    dist = st.bootstrap_means(x, 10_000, seed=3)[:, 0]
    iv = st.percentile_interval(dist, float(x.mean()))
    ref = sps.bootstrap((x,), np.mean, n_resamples=10_000, method="percentile", confidence_level=0.95,
                        random_state=np.random.default_rng(4), vectorized=True).confidence_interval
    assert iv.lo == pytest.approx(ref.low, abs=0.012) and iv.hi == pytest.approx(ref.high, abs=0.012)
    assert dist.mean() == pytest.approx(x.mean(), abs=0.003)


def test_bootstrap_is_seeded_and_paired() -> None:
    v = np.random.default_rng(0).random((30, 3))
    a = st.bootstrap_means(v, 3000, seed=9)
    b = st.bootstrap_means(v, 3000, seed=9)
    assert np.array_equal(a, b)
    # identical columns stay identical in every resample (joint resampling)
    same = st.bootstrap_means(np.column_stack([v[:, 0], v[:, 0]]), 500, seed=1)
    assert np.array_equal(same[:, 0], same[:, 1])


def test_bootstrap_edges_missing_and_one_problem() -> None:
    v = np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]])
    d = st.bootstrap_means(v, 2000, seed=0)
    assert np.all((d[:, 1] == 1.0) | np.isnan(d[:, 1]))  # column 2 only ever sees passes
    one = st.bootstrap_means(np.array([[0.4]]), 100, seed=0)
    assert np.all(one == 0.4)
    assert np.all(st.bootstrap_means(np.ones(20), 100)[:, 0] == 1.0)   # all pass
    assert np.all(st.bootstrap_means(np.zeros(20), 100)[:, 0] == 0.0)  # all fail


def test_cluster_bootstrap_equals_explicit_index_resampling() -> None:
    x = np.random.default_rng(2).integers(0, 2, (7, 4)).astype(float)
    got = st.cluster_bootstrap(x, 300, seed=5)
    rng = np.random.default_rng(5)
    ip = rng.integers(0, 7, (300, 7))
    ir = rng.integers(0, 4, (300, 4))
    want = np.array([x[np.ix_(ip[b], ir[b])].mean() for b in range(300)])
    assert np.allclose(got, want)


def test_cluster_bootstrap_exact_expectation_two_by_two() -> None:
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    # enumerate every equally likely (problem draw, run draw) pair
    ests = [x[np.ix_(list(p), list(r))].mean() for p in product(range(2), repeat=2) for r in product(range(2), repeat=2)]
    got = st.cluster_bootstrap(x, 20_000, seed=0)
    assert got.mean() == pytest.approx(np.mean(ests), abs=0.01)
    assert got.var() == pytest.approx(np.var(ests), abs=0.01)


def test_weighted_composite_hand_computed() -> None:
    # levels 1 (w 1.0) at 100%, 10 (w 20) at 50%: (1*1 + 20*0.5) / 21
    assert st.weighted_composite({1: 1.0, 10: 0.5}) == pytest.approx(11 / 21)
    assert st.weighted_composite({3: 0.25}) == pytest.approx(0.25)
    assert st.weighted_composite({}) is None
    assert list(st.LEVEL_WEIGHTS.values()) == [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0]
