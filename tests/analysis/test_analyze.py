"""analyze() end to end on hand-made input folders: edge cases and warnings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from sse.analysis import analyze
from sse.analysis.inputs import ReportInputError

MakeDir = Callable[..., Path]


def by_name(r: dict, name: str) -> dict:
    return next(s for s in r["systems"] if s["name"] == name)


def test_figures_match_scipy_on_a_small_grid(make_dir: MakeDir) -> None:
    a = [[1, 1, 0, 1, 0, 1], [1, 0, 0, 1, 1, 1], [1, 1, 1, 1, 0, 1]]
    b = [[0, 1, 0, 0, 0, 1], [1, 0, 0, 0, 0, 1], [0, 1, 0, 1, 0, 1]]
    r = analyze(make_dir({"a": a, "b": b}, task={"baseline": "a"}))
    sa = by_name(r, "a")
    runs = np.array(a, float).mean(axis=1)
    assert sa["run_accuracies"] == pytest.approx(runs.tolist())
    lo, hi = sps.t.interval(0.95, 2, loc=runs.mean(), scale=sps.sem(runs))
    assert (sa["t_interval"]["lo"], sa["t_interval"]["hi"]) == pytest.approx((lo, hi))
    w = sps.binomtest(4, 6).proportion_ci(0.95, method="wilson")
    assert (sa["wilson_first_run"]["lo"], sa["wilson_first_run"]["hi"]) == pytest.approx((w.low, w.high))
    c = r["comparisons"][0]
    assert c["system"] == "b" and c["baseline"] == "a"
    rb = np.array(b, float).mean(axis=1)
    welch = sps.ttest_ind(rb, runs, equal_var=False)
    assert c["welch"]["p"] == pytest.approx(welch.pvalue) and c["welch"]["t"] == pytest.approx(welch.statistic)
    paired = sps.ttest_rel(rb, runs)
    assert c["paired_t"]["p"] == pytest.approx(paired.pvalue)
    pa, pb = np.array(a, float).mean(axis=0), np.array(b, float).mean(axis=0)
    wins, losses = int((pb > pa).sum()), int((pa > pb).sum())
    assert (c["sign_test"]["system_better"], c["sign_test"]["baseline_better"]) == (wins, losses)
    assert c["sign_test"]["p"] == pytest.approx(sps.binomtest(wins, wins + losses).pvalue)
    assert c["difference"]["estimate"] == pytest.approx(pb.mean() - pa.mean())
    assert c["sign_test"]["p_holm"] == pytest.approx(c["sign_test"]["p"])  # family of one
    json.dumps(r, allow_nan=False)  # strict JSON: no NaN anywhere


def test_all_pass_all_fail_single_system(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"good": [[1, 1, 1]] * 2, "bad": [[0, 0, 0]] * 2}))
    g, b = by_name(r, "good"), by_name(r, "bad")
    assert g["accuracy"] == 1.0 and g["bootstrap_interval"]["lo"] == 1.0 and g["wilson_first_run"]["hi"] == 1.0
    assert b["accuracy"] == 0.0 and b["bootstrap_interval"]["hi"] == 0.0 and b["wilson_first_run"]["lo"] == 0.0
    assert b["verdicts"]["compile_error"] == 6 and b["error_codes"] == {"E0308": 6}
    single = analyze(make_dir({"only": [[1, 0, 1]]}))
    assert single["baseline"] == "only" and single["comparisons"] == []
    assert single["pareto"]["convex_frontier"] == ["only"]
    assert single["pareto"]["frontier_probability"]["only"] == 1.0


def test_one_run_and_one_problem(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"a": [[1, 0, 1, 1]], "b": [[0, 0, 1, 0]]}))
    a = by_name(r, "a")
    assert a["t_interval"]["lo"] is None and any("one run" in n for n in a["notes"])
    c = r["comparisons"]
    assert c and c[0]["sign_test"]["test"] == "McNemar exact" and c[0]["welch"]["p"] is None
    one = analyze(make_dir({"a": [[1]], "b": [[0]]}))
    assert by_name(one, "a")["bootstrap_interval"]["lo"] == 1.0
    assert one["comparisons"][0]["shared_problems"] == 1


def test_identical_systems(make_dir: MakeDir) -> None:
    grid = [[1, 0, 1, 1, 0], [1, 1, 0, 1, 0]]
    r = analyze(make_dir({"x": grid, "y": grid}))
    c = r["comparisons"][0]
    assert c["difference"]["estimate"] == 0 and c["difference"]["lo"] == 0 and c["difference"]["hi"] == 0
    assert c["sign_test"]["p"] == 1.0 and c["cohens_d"] == 0.0
    # same cost and accuracy: a tie on the frontier, both on it
    assert sorted(r["pareto"]["convex_frontier"]) == ["x", "y"]


def test_deterministic_note_and_pass_at_k(make_dir: MakeDir) -> None:
    grid = [[1, 0, 1]] * 3
    r = analyze(make_dir({"det": grid, "sto": [[1, 0, 1], [0, 0, 1], [1, 1, 1]]},
                         deterministic={"det": True}))
    d, s = by_name(r, "det"), by_name(r, "sto")
    assert d["deterministic"] and any("zero by construction" in n for n in d["notes"])
    assert d["t_interval"]["lo"] == d["t_interval"]["hi"]  # zero width
    assert list(d["pass_at_k"]) == ["1"]  # copies: pass@k>1 would be meaningless
    assert s["pass_at_k"]["3"] == pytest.approx(1.0) and s["pass_at_k"]["1"] == pytest.approx(6 / 9)


def test_infra_errors_excluded_counted_warned(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"a": [[1, 1, 0], [1, 1, 1]]}, statuses={("a", 0, 2): "infra_error"}))
    a = by_name(r, "a")
    assert a["excluded_infra_error"] == 1 and a["verdicts"]["infra_error"] == 1 and a["samples"] == 5
    assert r["excluded"] == {"a": 1} and any("infra_error" in w for w in r["warnings"])
    assert a["accuracy"] == pytest.approx(1.0)  # problem 2 judged on its remaining run only


def test_costs_and_value_score(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"api": [[1, 1, 1, 0]], "slm": [[1, 0, 1, 0]], "nope": [[1, 1, 0, 0]]},
                         systems={"api": {"kind": "cli", "prices": {"input_per_mtok": 3, "output_per_mtok": 15}},
                                  "nope": {"kind": "cli"}}))
    api, slm, nope = by_name(r, "api"), by_name(r, "slm"), by_name(r, "nope")
    assert api["cost"]["how"] == ["tokens:registry"]
    assert api["cost"]["per_example"] == pytest.approx(100 * 3e-6 + 50 * 15e-6)
    assert slm["cost"]["how"] == ["machine_time:cpu_s"] and slm["cost"]["per_example"] == pytest.approx(0.5 * 0.36 / 3600)
    assert nope["cost"]["status"] == "unpriced" and nope["cost"]["per_example"] is None
    assert "nope" not in r["pareto"]["systems"]
    assert r["baseline"] == "api"  # most accurate non-local system
    t = next(x for x in r["pareto"]["tradeoffs"] if x["system"] == "slm")
    want = (0.5 / slm["cost"]["per_example"]) / (0.75 / api["cost"]["per_example"])
    assert t["value_ratio"] == pytest.approx(want)
    assert t["cost_ratio"] == pytest.approx(slm["cost"]["per_example"] / api["cost"]["per_example"])


def test_levels_and_composite(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"a": [[1, 0, 1, 1]]}, levels=[1, 1, 10, 10]))
    a = by_name(r, "a")
    assert a["levels"]["1"]["rate"] == 0.5 and a["levels"]["10"]["rate"] == 1.0
    assert a["composite"] == pytest.approx((1.0 * 0.5 + 20.0 * 1.0) / 21.0)


def test_bad_input_names_file_and_line(tmp_path: Path, make_dir: MakeDir) -> None:
    d = make_dir({"a": [[1, 0]]})
    with (d / "samples.jsonl").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(ReportInputError, match=r"samples\.jsonl:3"):
        analyze(d)
    with pytest.raises(ReportInputError, match="input folder not found"):
        analyze(tmp_path / "missing")
    d2 = make_dir({"a": [[1, 0]]})
    lines = (d2 / "samples.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace('"status": "pass"', '"status": "great"')
    (d2 / "samples.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportInputError, match=r"samples\.jsonl:1: status: unknown status"):
        analyze(d2)


def test_partially_shared_problems_use_their_own_paired_bootstrap(make_dir: MakeDir) -> None:
    d = make_dir({"a": [[1, 1, 0, 1, 1, 0]], "b": [[1, 0, 0, 0, 1, 1]]}, task={"baseline": "a"})
    lines = [ln for ln in (d / "samples.jsonl").read_text().splitlines()
             if not ('"system": "b"' in ln and '"example_id": "p05"' in ln)]
    (d / "samples.jsonl").write_text("\n".join(lines) + "\n")
    r = analyze(d)
    c = r["comparisons"][0]
    assert c["shared_problems"] == 5
    assert c["difference"]["estimate"] == pytest.approx(2 / 5 - 4 / 5)
    assert c["difference"]["lo"] <= c["difference"]["estimate"] <= c["difference"]["hi"]
    assert by_name(r, "b")["problems"] == 5 and by_name(r, "a")["problems"] == 6


def test_reference_oracle_is_shown_but_not_a_competitor(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"reference": [[1, 1, 1, 1]], "slm": [[1, 0, 1, 0]], "tr": [[0, 0, 1, 0]]},
                         systems={"reference": {"kind": "reference"}, "tr": {"kind": "transpiler"}}))
    ref = by_name(r, "reference")
    assert ref["oracle"] and any("oracle" in n for n in ref["notes"]) and ref["accuracy"] == 1.0
    assert r["baseline"] == "slm"
    assert "reference" not in r["pareto"]["systems"]
    assert [c["system"] for c in r["comparisons"]] == ["tr"]
