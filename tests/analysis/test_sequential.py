"""The `runs: auto` decision rule (sse.analysis.sequential)."""

from __future__ import annotations

import numpy as np
import pytest

from sse.analysis.sequential import AutoRuns, decide, run_until_settled
from sse.analysis.stats import t_interval


def _runs(p: np.ndarray, r: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((r, p.size)) < p).astype(float)


def test_deterministic_system_runs_once() -> None:
    rule = AutoRuns()
    first = decide(rule, np.empty((0, 0)), deterministic=True)
    assert first.action == "continue"
    d = decide(rule, np.array([[1, 0, 1, 1]]), deterministic=True)
    assert d.stop and d.reason == "deterministic" and d.runs == 1


def test_min_runs_come_first() -> None:
    x = np.ones((2, 50))  # perfectly settled, but only two runs
    d = decide(AutoRuns(min_runs=3), x)
    assert d.action == "continue" and d.reason == "min_runs"


def test_half_width_is_the_t_interval_of_problem_means() -> None:
    x = _runs(np.linspace(0.05, 0.95, 80), 4)
    d = decide(AutoRuns(half_width=1e-6, max_runs=4), x)
    ti = t_interval(x.mean(axis=0))
    assert d.half_width == pytest.approx(ti.hi - ti.estimate, rel=1e-9)
    assert d.reason == "max_runs"


def test_noisy_system_continues_then_settles() -> None:
    p = np.full(200, 0.5)  # every problem a coin flip: runs are what narrows the interval
    rule = AutoRuns(min_runs=2, max_runs=40, half_width=0.03)
    d3 = decide(rule, _runs(p, 3))
    assert d3.action == "continue" and d3.next_half_width < d3.half_width
    rng = np.random.default_rng(1)
    x, dollars, d = run_until_settled(rule, lambda i: ((rng.random(p.size) < p).astype(float), 1.0))
    assert d.reason == "settled" and d.half_width <= 0.03
    assert rule.min_runs < x.shape[0] < rule.max_runs and len(dollars) == x.shape[0]


def test_corpus_limited_interval_stops_when_runs_cannot_narrow_it() -> None:
    p = np.r_[np.zeros(60), np.ones(60), np.full(4, 0.5)]  # nearly deterministic problems, wide corpus spread
    d = decide(AutoRuns(half_width=0.01), _runs(p, 3))
    assert d.stop and d.reason == "runs_cannot_narrow"
    assert d.floor_half_width > 0.01 and d.next_half_width <= d.half_width


def test_budget_stops_before_the_run_that_would_pass_it() -> None:
    p = np.full(400, 0.5)  # the target needs ~11 runs, the budget allows 3
    rule = AutoRuns(min_runs=2, max_runs=20, half_width=0.015, budget_dollars=10.0)
    d = decide(rule, _runs(p, 3), dollars_per_run=[3.0, 3.0, 3.0])
    assert d.stop and d.reason == "budget" and d.spent_dollars == 9.0
    assert decide(rule, _runs(p, 2), dollars_per_run=[3.0, 3.0]).action == "continue"


def test_paired_target_uses_the_difference_to_the_baseline() -> None:
    p = np.r_[np.zeros(50), np.ones(50), np.linspace(0.2, 0.8, 50)]
    base = _runs(p, 5, seed=9)  # a baseline as good as the system, problem by problem
    x = _runs(p, 5)
    paired = decide(AutoRuns(half_width=None, paired_half_width=0.05, max_runs=5), x, baseline=base)
    alone = decide(AutoRuns(half_width=0.05, max_runs=5), x)
    assert paired.half_width < alone.half_width  # pairing removes the between-problem spread
    with pytest.raises(ValueError):
        decide(AutoRuns(half_width=None, paired_half_width=0.05), x, baseline=base[:, :10])


@pytest.mark.parametrize("kw", [{"min_runs": 0}, {"min_runs": 5, "max_runs": 4}, {"half_width": 0.0},
                                {"half_width": None}, {"budget_dollars": -1.0}, {"confidence": 1.0}])
def test_bad_rules_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AutoRuns(**kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ base vs base+plus columns
def test_base_plus_table_reads_two_views_off_one_verdict() -> None:
    from sse.analysis.plus_views import base_plus_table
    from sse.core.records import Sample, TestOutcome, Verdict

    def sample(system: str, ex: str, run: int, vkey: str) -> Sample:
        return Sample("t", system, ex, run, 1, "pass", "c", vkey, "e", "r", 0, 0, None, None, 0.0, None, None,
                      None, "unpriced", False)

    ok = tuple(TestOutcome(f"t{i}", "pass") for i in range(3))
    verdicts = {
        "all": Verdict("pass", tests=ok + (TestOutcome("t3", "pass"),)),
        "plus_fails": Verdict("test_failure", tests=ok + (TestOutcome("t3", "fail"),)),
        "base_fails": Verdict("test_failure", tests=(TestOutcome("t0", "fail"),) + ok[1:] + (TestOutcome("t3", "pass"),)),
        "prog": Verdict("pass", meta={"plus": {"status": "test_failure", "passed": 1, "total": 2}}),
    }
    counts = {"a": (3, 4), "b": (3, 4), "p": (0, 0)}
    samples = [sample("s", "a", 0, "all"), sample("s", "b", 0, "plus_fails"), sample("s", "p", 0, "prog"),
               sample("s", "a", 1, "all"), sample("s", "b", 1, "base_fails"), sample("s", "p", 1, "missing")]
    row = base_plus_table(samples, verdicts, counts)["s"]
    assert row["base"] == pytest.approx((3 / 3 + 1 / 3) / 2)
    assert row["base_plus"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert row["drop_points"] == pytest.approx(100 * (row["base"] - row["base_plus"]))
    assert row["examples"] == 3 and row["examples_with_plus"] == 3 and row["runs"] == 2


def test_empty_runs_do_not_count_towards_min_runs() -> None:
    x = np.ones((1, 50))  # one real run, perfectly settled ...
    padded = np.vstack([x, np.full((3, 50), np.nan)])  # ... and three runs with no outcome at all
    d = decide(AutoRuns(min_runs=3), padded)
    assert d.action == "continue" and d.reason == "min_runs" and d.runs == 1


def test_one_run_never_claims_runs_cannot_narrow() -> None:
    p = np.full(100, 0.5)
    d = decide(AutoRuns(min_runs=1, half_width=0.01), _runs(p, 1))
    assert d.action == "continue"  # the run-to-run spread is unknown after one run
