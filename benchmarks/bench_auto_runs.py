"""Benchmark: `runs: auto` (sse.analysis.sequential) against a fixed 10 runs, on priced stochastic stand-ins.

A stand-in system is a vector of per-problem pass probabilities (a synthetic sample, not a
measurement of any model); each run draws one pass/fail per problem and costs a fixed dollar
amount (tokens x a list price, stated below). For each scenario, `--reps` simulated evaluations
print: runs used (mean, min-max) vs 10, the final 95% half-width (auto vs fixed 10), how often the
interval covers the stand-in's true mean, and dollars (auto vs fixed) with the saving.

Run: .venv/bin/python benchmarks/bench_auto_runs.py [--reps 200]
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import numpy as np

from sse.analysis.sequential import AutoRuns, decide, run_until_settled

N_PROBLEMS = 144  # the bundled function corpus
# a frontier-priced stand-in: ~600 tokens in, ~400 out per problem at $3 / $15 per million tokens
DOLLARS_PER_PROBLEM = 600 * 3e-6 + 400 * 15e-6
DOLLARS_PER_RUN = N_PROBLEMS * DOLLARS_PER_PROBLEM
FIXED_RUNS = 10


def stand_in(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Per-problem pass probabilities of a stand-in system."""
    if kind == "mostly-settled":  # most problems always pass or always fail; a fifth are coin-like
        k = rng.choice(3, size=N_PROBLEMS, p=[0.55, 0.25, 0.20])
        return np.where(k == 0, 0.97, np.where(k == 1, 0.03, rng.uniform(0.2, 0.8, N_PROBLEMS)))
    if kind == "noisy":  # every problem uncertain: runs matter most
        return rng.uniform(0.3, 0.7, N_PROBLEMS)
    raise ValueError(kind)


def simulate(kind: str, rule: AutoRuns, reps: int, seed: int, paired: bool = False) -> dict[str, float | str]:
    rng = np.random.default_rng(seed)
    runs_used, halves, fixed_halves, covered, reasons = [], [], [], [], Counter()
    for _ in range(reps):
        p = stand_in(kind, rng)
        base = (rng.random((1, N_PROBLEMS)) < p).astype(float) if paired else None

        def draw(i: int, p: np.ndarray = p) -> tuple[np.ndarray, float]:
            return (rng.random(N_PROBLEMS) < p).astype(float), DOLLARS_PER_RUN

        x, _dollars, d = run_until_settled(rule, draw, baseline=base)
        runs_used.append(x.shape[0])
        halves.append(d.half_width)
        reasons[d.reason] += 1
        truth = float(p.mean() - (base.mean() if base is not None else 0.0))
        est = float(x.mean() - (base.mean() if base is not None else 0.0))
        covered.append(abs(est - truth) <= d.half_width)
        xf = np.vstack([x, (rng.random((max(0, FIXED_RUNS - x.shape[0]), N_PROBLEMS)) < p).astype(float)])[:FIXED_RUNS]
        fixed = decide(AutoRuns(min_runs=FIXED_RUNS, max_runs=FIXED_RUNS, half_width=None if paired else 1e-9,
                                paired_half_width=1e-9 if paired else None), xf, baseline=base)
        fixed_halves.append(fixed.half_width)
    r = np.array(runs_used)
    auto_d, fixed_d = float(r.mean() * DOLLARS_PER_RUN), FIXED_RUNS * DOLLARS_PER_RUN
    return {"scenario": kind + (" (paired vs a baseline)" if paired else ""), "runs_mean": float(r.mean()),
            "runs_min": int(r.min()), "runs_max": int(r.max()), "half_auto": float(np.mean(halves)),
            "half_fixed": float(np.mean(fixed_halves)), "coverage": float(np.mean(covered)),
            "dollars_auto": auto_d, "dollars_fixed": fixed_d, "saved": fixed_d - auto_d,
            "reasons": ", ".join(f"{k} {v}" for k, v in reasons.most_common())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"stand-in: {N_PROBLEMS} problems, ${DOLLARS_PER_RUN:.3f} per run "
          f"(${DOLLARS_PER_PROBLEM:.5f} per problem); fixed comparison: {FIXED_RUNS} runs; {a.reps} repetitions")
    scenarios = [
        ("mostly-settled", AutoRuns(min_runs=3, max_runs=10, half_width=0.03), False),
        ("noisy", AutoRuns(min_runs=3, max_runs=10, half_width=0.035), False),
        ("noisy", AutoRuns(min_runs=3, max_runs=20, half_width=0.03), False),
        ("mostly-settled", AutoRuns(min_runs=3, max_runs=10, half_width=None, paired_half_width=0.03), True),
        ("noisy", AutoRuns(min_runs=3, max_runs=20, half_width=0.03, budget_dollars=5.0), False),
    ]
    for kind, rule, paired in scenarios:
        s = simulate(kind, rule, a.reps, a.seed, paired)
        print(f"\n{s['scenario']}: {rule.describe()}")
        print(f"  runs used {s['runs_mean']:.2f} (min {s['runs_min']}, max {s['runs_max']}) vs {FIXED_RUNS} fixed; "
              f"stopped: {s['reasons']}")
        print(f"  95% half-width: auto {s['half_auto']:.4f} vs fixed-{FIXED_RUNS} {s['half_fixed']:.4f} "
              f"(ratio {s['half_auto'] / s['half_fixed']:.2f}); interval covers the true mean in "
              f"{s['coverage']:.1%} of repetitions")
        saved = float(s["saved"])
        print(f"  dollars: auto ${s['dollars_auto']:.2f} vs fixed ${s['dollars_fixed']:.2f}: "
              f"{'saved' if saved >= 0 else 'extra'} ${abs(saved):.2f} "
              f"({abs(saved) / float(s['dollars_fixed']):.0%}{'' if saved >= 0 else ' more'})")
    assert math.isfinite(DOLLARS_PER_RUN)


if __name__ == "__main__":
    main()
