"""`runs: auto`: repeat a stochastic system only until its interval is settled or the budget says stop.

Pure: the outcomes so far in, a decision (continue / stop, and why) out. The run layer asks
after every completed run; the report prints the rule and each system's reason.

What "settled" means. The report's problem-level interval resamples problems, so its width has
two parts: problems differ (this does not shrink with more runs), and one problem's outcome
varies from run to run (this shrinks as 1/runs). With per-problem means m_i over r runs,

    Var(mean) ~= (s_p^2 + s_w^2 / r) / n,

s_w^2 the mean within-problem variance across runs, s_p^2 the between-problem part. So:

- a deterministic system runs once: its runs would be copies;
- below `min_runs`: continue (too few runs to estimate s_w^2);
- half-width <= `half_width` (or, against a baseline, the paired difference's half-width <=
  `paired_half_width`): stop, settled;
- no number of runs would reach the target (the spread between problems alone is wider), or one
  more run would narrow it by less than `min_gain`: stop, settled as far as runs can settle it;
- `max_runs` reached, or the next run's expected cost would pass `budget_dollars`: stop.

The rule looks at variances only, never at whether a difference is significant, so stopping does
not bias the estimate towards a conclusion (stopping on "significant" would inflate false
positives unless the levels were corrected for the repeated looks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps

from sse.task.spec import AutoRuns  # the rule's values live with the task config that reads them

__all__ = ["AutoRuns", "Decision", "decide", "run_until_settled"]

Reason = Literal["deterministic", "min_runs", "settled", "runs_cannot_narrow", "max_runs", "budget", "continue"]


@dataclass(frozen=True)
class Decision:
    action: Literal["continue", "stop"]
    reason: Reason
    detail: str
    runs: int
    half_width: float  # of the quantity the rule targets, now
    next_half_width: float  # expected after one more run
    floor_half_width: float  # expected with infinitely many runs (what the corpus allows)
    spent_dollars: float = 0.0

    @property
    def stop(self) -> bool:
        return self.action == "stop"


@dataclass(frozen=True)
class _Spread:
    half: float
    next_half: float
    floor: float


def _spread(matrix: np.ndarray, confidence: float) -> _Spread:
    """Half-widths (now, after one more run, with unlimited runs) of the mean over problems of a
    runs x problems matrix (NaN = missing), from the variance decomposition above."""
    r_per = np.sum(~np.isnan(matrix), axis=0)
    keep = r_per > 0
    m = matrix[:, keep]
    r_per = r_per[keep]
    n = m.shape[1]
    if n < 2:
        return _Spread(math.inf, math.inf, math.inf)
    means = np.nanmean(m, axis=0)
    s2_total = float(np.var(means, ddof=1))
    within = np.array([np.var(col[~np.isnan(col)], ddof=1) if c > 1 else np.nan for col, c in zip(m.T, r_per,
                                                                                                    strict=True)])
    s2_w = float(np.nanmean(within)) if np.any(~np.isnan(within)) else 0.0
    r = float(np.mean(r_per))
    s2_p = max(0.0, s2_total - s2_w / r)
    t = float(sps.t.ppf(0.5 + confidence / 2, n - 1))

    now = t * math.sqrt(s2_total / n)
    model = s2_p + s2_w / r
    if model <= 0:
        return _Spread(now, now, now)
    # the observed half-width, scaled by how the model says more runs change it
    return _Spread(now, now * math.sqrt((s2_p + s2_w / (r + 1)) / model), now * math.sqrt(s2_p / model))


def decide(rule: AutoRuns, outcomes: np.ndarray | Sequence[Sequence[float]], *, deterministic: bool = False,
           dollars_per_run: Sequence[float] = (), baseline: np.ndarray | Sequence[Sequence[float]] | None = None
           ) -> Decision:
    """Continue or stop after the runs in `outcomes` (runs x problems, 1 = pass, 0 = fail, NaN = missing).

    `dollars_per_run`: what each finished run cost (the next is expected to cost their mean);
    `baseline`: the baseline's outcomes (runs x the same problems) when the rule has a paired target."""
    x = np.asarray(outcomes, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"outcomes must be runs x problems, got shape {x.shape}")
    # a run with no outcome at all (skipped, every sample a harness failure) is no evidence: it must not
    # count towards min_runs, or one real run plus empty ones would pass for "settled"
    x = x[np.any(~np.isnan(x), axis=1)] if x.size else x
    runs = x.shape[0]
    spent = float(sum(dollars_per_run))
    if deterministic:
        sp = _spread(x[:1], rule.confidence) if runs else _Spread(math.inf, math.inf, math.inf)
        if runs >= 1:
            return Decision("stop", "deterministic", "deterministic system: one run; more would be copies", runs,
                            sp.half, sp.half, sp.half, spent)
        return Decision("continue", "deterministic", "deterministic system: needs its one run", runs,
                        math.inf, math.inf, math.inf, spent)
    if runs == 0:
        return Decision("continue", "min_runs", f"0 of at least {rule.min_runs} runs", 0, math.inf, math.inf,
                        math.inf, spent)
    paired = rule.paired_half_width is not None and baseline is not None
    if paired:
        b = np.asarray(baseline, dtype=float)
        if b.ndim != 2 or b.shape[1] != x.shape[1]:
            raise ValueError(f"baseline must be runs x {x.shape[1]} problems, got shape {b.shape}")
        # the difference of per-problem means; the baseline's own run-to-run spread is fixed here
        target_m = x - np.nanmean(b, axis=0)[None, :]
        target = float(rule.paired_half_width)  # type: ignore[arg-type]
        what = "paired-difference half-width"
    else:
        target_m = x
        target = float(rule.half_width if rule.half_width is not None else rule.paired_half_width)  # type: ignore[arg-type]
        what = "half-width"
    sp = _spread(target_m, rule.confidence) if runs else _Spread(math.inf, math.inf, math.inf)

    def out(action: Literal["continue", "stop"], reason: Reason, detail: str) -> Decision:
        return Decision(action, reason, detail, runs, sp.half, sp.next_half, sp.floor, spent)

    if runs < rule.min_runs:
        return out("continue", "min_runs", f"{runs} of at least {rule.min_runs} runs")
    if sp.half <= target:
        return out("stop", "settled", f"{what} {sp.half:.4f} <= target {target:.4f} after {runs} runs")
    if runs >= rule.max_runs:
        return out("stop", "max_runs", f"{what} {sp.half:.4f} > target {target:.4f} at the maximum of "
                                       f"{rule.max_runs} runs")
    if rule.budget_dollars is not None and dollars_per_run:
        nxt = spent / len(dollars_per_run)
        if spent + nxt > rule.budget_dollars:
            return out("stop", "budget", f"${spent:.4f} spent; another run (~${nxt:.4f}) would pass the "
                                         f"${rule.budget_dollars:g} budget")
    if runs < 2:  # one run says nothing of the run-to-run spread: more runs might still narrow it
        return out("continue", "continue", f"{what} {sp.half:.4f} > target {target:.4f}; one run cannot "
                                           "tell how much more runs would narrow it")
    if sp.floor > target:
        return out("stop", "runs_cannot_narrow",
                   f"{what} {sp.half:.4f} > target {target:.4f}, but no number of runs reaches it: the spread "
                   f"between problems alone gives ~{sp.floor:.4f}")
    if sp.half - sp.next_half < rule.min_gain:
        return out("stop", "runs_cannot_narrow",
                   f"{what} {sp.half:.4f} > target {target:.4f}, but another run would narrow it by only "
                   f"{sp.half - sp.next_half:.4f}")
    return out("continue", "continue", f"{what} {sp.half:.4f} > target {target:.4f}; expected "
                                       f"{sp.next_half:.4f} after another run")


def run_until_settled(rule: AutoRuns, draw_run: Callable[[int], tuple[Sequence[float], float]], *, deterministic: bool = False,
                      baseline: np.ndarray | None = None) -> tuple[np.ndarray, list[float], Decision]:
    """Drive `decide` with `draw_run(i) -> (outcomes over problems, dollars)`: what the run layer does,
    usable for simulations and tests. Returns the outcome matrix, dollars per run and the last decision."""
    rows: list[np.ndarray] = []
    dollars: list[float] = []
    while True:
        d = decide(rule, np.array(rows) if rows else np.empty((0, 0)), deterministic=deterministic,
                   dollars_per_run=dollars, baseline=baseline)
        if d.stop:
            return np.array(rows), dollars, d
        o, c = draw_run(len(rows))
        rows.append(np.asarray(o, dtype=float))
        dollars.append(float(c))

