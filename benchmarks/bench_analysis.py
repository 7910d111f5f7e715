"""Benchmark: convex frontier over 10..5,000 systems, and the bootstrap over 1,000 problems x 5 runs x 10 systems.

Prints timings, growth between sizes, and the ratio to a peer measured in the same run
(scipy.spatial.ConvexHull on the same points; scipy.stats.bootstrap on the same data).
Run: .venv/bin/python benchmarks/bench_analysis.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import stats as sps
from scipy.spatial import ConvexHull

from sse.analysis import pareto as par
from sse.analysis import stats as st


def best_time(fn: Callable[[], object], min_total: float = 0.5, repeat: int = 9) -> float:
    """Best per-call seconds over `repeat` batches, each batch long enough to time reliably."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_total / repeat or n >= 1 << 20:
            break
        n *= 2
    best = dt / n
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def frontier_bench(sizes: list[int], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    print("convex frontier (pareto_2d + upper hull), random systems: acc ~ U(0,1), cost ~ logNormal")
    print(f"{'systems':>8} {'frontier us':>12} {'on hull':>8} {'qhull peer us':>14} {'ratio':>7} {'growth':>7}")
    prev = None
    for n in sizes:
        acc = rng.random(n)
        cost = rng.lognormal(0, 2, n)
        t = best_time(lambda acc=acc, cost=cost: par.convex_frontier(acc, cost))
        pts = np.column_stack([np.log(cost), acc])
        peer = best_time(lambda pts=pts: ConvexHull(pts)) if n >= 3 else float("nan")
        on = int(par.convex_frontier(acc, cost).sum())
        growth = f"{t / prev[1]:.2f}x/{n / prev[0]:.0f}x" if prev else ""
        print(f"{n:>8} {t * 1e6:>12.1f} {on:>8} {peer * 1e6:>14.1f} {t / peer:>7.2f} {growth:>7}")
        prev = (n, t)
    # adversarial: every system on the Pareto set and on the hull (concave accuracy in cost)
    for n in (500, 5000):
        cost = np.sort(rng.random(n)) + 0.01
        acc = np.sqrt(cost)
        t = best_time(lambda acc=acc, cost=cost: par.convex_frontier(acc, cost))
        print(f"{n:>8} {t * 1e6:>12.1f} {int(par.convex_frontier(acc, cost).sum()):>8}   (worst case: all on hull)")


def bootstrap_bench(problems: int = 1000, runs: int = 5, systems: int = 10, resamples: int = 10_000) -> None:
    rng = np.random.default_rng(1)
    skill = np.linspace(-1, 2, systems)
    diff = rng.normal(0, 1.5, problems)
    p = 1 / (1 + np.exp(-(skill[None, :] - diff[:, None])))
    X = (rng.random((problems, runs, systems)) < p[:, None, :]).astype(float)
    M = X.mean(axis=1)
    C = rng.lognormal(-7, 1, (problems, systems))
    print(f"\nbootstrap: {problems} problems x {runs} runs x {systems} systems, {resamples} resamples")
    t0 = time.perf_counter()
    acc_b = st.bootstrap_means(M, resamples, seed=0)
    t_joint = time.perf_counter() - t0
    t0 = time.perf_counter()
    cost_b = st.bootstrap_means(C, resamples, seed=0)
    t_cost = time.perf_counter() - t0
    t0 = time.perf_counter()
    st.cluster_bootstrap_many([X[:, :, j] for j in range(systems)], resamples, seed=1)
    t_cluster = time.perf_counter() - t0
    t0 = time.perf_counter()
    par.frontier_probability(acc_b, cost_b)
    t_prob = time.perf_counter() - t0
    t0 = time.perf_counter()
    for j in range(systems):
        sps.bootstrap((M[:, j],), np.mean, n_resamples=resamples, method="percentile", vectorized=True,
                      random_state=np.random.default_rng(j))
    t_peer = time.perf_counter() - t0
    print(f"  problem bootstrap, all systems jointly (accuracy): {t_joint * 1e3:8.1f} ms")
    print(f"  same for cost (analyze does both in one pass):    {t_cost * 1e3:8.1f} ms")
    print(f"  cluster bootstrap problems x runs, all systems:   {t_cluster * 1e3:8.1f} ms")
    print(f"  P(on convex frontier) over {resamples} resamples:      {t_prob * 1e3:8.1f} ms")
    print(f"  peer: scipy.stats.bootstrap percentile, 10 systems: {t_peer * 1e3:8.1f} ms "
          f"(ours/peer for the accuracy bootstrap: {t_joint / t_peer:.2f})")
    for n_p in (250, 500, 1000, 2000):
        Mp = M[rng.integers(0, problems, n_p)]
        t0 = time.perf_counter()
        st.bootstrap_means(Mp, resamples, seed=0)
        print(f"  growth: {n_p:>5} problems -> {(time.perf_counter() - t0) * 1e3:8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1,000 resamples instead of 10,000")
    a = ap.parse_args()
    frontier_bench([10, 100, 500, 5000])
    bootstrap_bench(resamples=1000 if a.quick else 10_000)


if __name__ == "__main__":
    main()
