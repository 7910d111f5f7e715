"""Issue 19 items 4 and 5: totals are what was spent, and every cost says its basis.

The stand-in systems are hand-built input folders: a deterministic local `command`
whose runs 1..n-1 are copies of run 0, a provider-priced API, a token-priced CLI, a
reference oracle. Nothing here runs a model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sse.analysis import analyze
from sse.analysis import costs as cst
from sse.analysis.inputs import ReportInputError
from sse.core.records import Sample
from sse.report.render import build_report

MakeDir = Callable[..., Path]
GRID = [[1, 0, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1], [1, 0, 1, 1]]  # 5 runs, 4 problems


def by_name(r: dict, name: str) -> dict:
    return next(s for s in r["systems"] if s["name"] == name)


def test_deterministic_copies_are_not_summed_again(make_dir: MakeDir) -> None:
    """A deterministic system paid for one generation per problem; its 4 copied runs cost nothing."""
    d = make_dir({"det": GRID, "sto": GRID}, deterministic={"det": True},
                 sample_extra={"det": {"dollars": 0.01, "cost_source": "provider"},
                               "sto": {"dollars": 0.01, "cost_source": "provider"}},
                 systems={"det": {"kind": "command", "local": False, "pricing_basis": "provider"},
                          "sto": {"kind": "claude", "local": False, "pricing_basis": "provider"}})
    r = analyze(d, resamples=200)
    det, sto = by_name(r, "det")["cost"], by_name(r, "sto")["cost"]
    assert det["total"] == pytest.approx(4 * 0.01)  # 4 problems x 1 generation, not 5 x 4
    assert sto["total"] == pytest.approx(20 * 0.01)  # every stochastic run was paid for
    assert det["per_example"] == pytest.approx(0.01) == sto["per_example"]  # the mean is unchanged
    assert det["copies_not_counted"] == 16 and sto["copies_not_counted"] == 0


def test_total_counts_the_first_usable_run_of_a_copied_problem() -> None:
    def s(run: int, ex: str, dollars: float, det: bool = True) -> Sample:
        return Sample(task="t", system="x", example_id=ex, run=run, level=1, status="pass", completion_key="c",
                          verdict_key="v", example_key="k", rust_key="r", tests_passed=1, tests_total=1,
                          tokens_in=None, tokens_out=None, latency_s=1.0, ttft_s=None, cpu_s=None,
                          dollars=dollars, cost_source="provider", deterministic=det)

    ss = [s(1, "a", 0.5), s(2, "a", 0.5), s(0, "b", 0.25), s(3, "b", 0.25)]  # run 0 of "a" was excluded
    costs = [cst.sample_cost(x, None, False, None, basis="provider") for x in ss]
    out = cst.summarize_costs(costs, ss)
    assert out["total"] == pytest.approx(0.75) and out["copies_not_counted"] == 2


def test_basis_comes_from_context_and_the_task_chooses_for_local_systems(make_dir: MakeDir) -> None:
    extra = {"cpu_s": 0.5, "latency_s": 2.0}
    systems = {"cmd": {"kind": "command", "local": True, "pricing_basis": "cpu_seconds"},
               "api": {"kind": "claude", "local": False, "pricing_basis": "tokens",
                       "prices": {"input_per_mtok": 3, "output_per_mtok": 15}},
               "reference": {"kind": "reference", "oracle": True, "local": True, "pricing_basis": "none"}}
    grids = {"cmd": [[1, 0, 1, 1]], "api": [[1, 1, 1, 0]], "reference": [[1, 1, 1, 1]]}
    extras = {n: extra for n in grids}
    r = analyze(make_dir(grids, systems=systems, sample_extra=extras), resamples=200)
    cmd, api, ref = by_name(r, "cmd")["cost"], by_name(r, "api")["cost"], by_name(r, "reference")["cost"]
    assert cmd["basis"] == "cpu_seconds" and cmd["per_example"] == pytest.approx(0.5 * 0.36 / 3600)
    assert api["basis"] == "tokens" and api["per_example"] == pytest.approx(100 * 3e-6 + 50 * 15e-6)
    # the oracle has no cost at all: never a $0 that looks like a bargain
    assert ref["basis"] == "none" and ref["per_example"] is None and ref["status"] == "not_applicable"
    assert not any("reference" in w and "unpriced" in w for w in r["warnings"])
    # the task picks wall seconds for its local systems
    r = analyze(make_dir(grids, systems=systems, sample_extra=extras, task={"local_cost_basis": "wall"}),
                resamples=200)
    cmd = by_name(r, "cmd")["cost"]
    assert cmd["basis"] == "wall_seconds" and cmd["per_example"] == pytest.approx(2.0 * 0.36 / 3600)
    assert by_name(r, "api")["cost"]["basis"] == "tokens"  # remote systems keep theirs


def test_a_sample_off_its_basis_is_unpriced_not_priced_another_way(make_dir: MakeDir) -> None:
    """A cpu_seconds system without CPU figures is not quietly priced by wall time."""
    r = analyze(make_dir({"cmd": [[1, 0, 1]]}, sample_extra={"cmd": {"cpu_s": None}},
                         systems={"cmd": {"kind": "command", "local": True, "pricing_basis": "cpu_seconds"}}),
                resamples=200)
    c = by_name(r, "cmd")["cost"]
    assert c["status"] == "unpriced" and c["per_example"] is None
    assert any("cmd" in w and "cpu_seconds" in w for w in r["warnings"])


def test_older_inputs_fall_back_to_kinds_and_sample_sources(make_dir: MakeDir) -> None:
    """No pricing_basis/oracle fields: the old precedence, and the old oracle kind."""
    r = analyze(make_dir({"reference": [[1, 1, 1]], "slm": [[1, 0, 1]]},
                         systems={"reference": {"kind": "reference"}}), resamples=200)
    assert by_name(r, "slm")["cost"]["basis"] == "cpu_seconds"
    ref = by_name(r, "reference")
    assert ref["oracle"] and ref["cost"]["basis"] == "none" and ref["cost"]["per_example"] is None


def test_oracle_field_decides_not_the_kind(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"reference": [[1, 1, 1, 0]], "gold": [[1, 1, 1, 1]], "slm": [[1, 0, 1, 0]]},
                         systems={"reference": {"kind": "reference", "oracle": False},
                                  "gold": {"kind": "command", "oracle": True}}), resamples=200)
    assert not by_name(r, "reference")["oracle"] and by_name(r, "gold")["oracle"]
    assert "reference" in r["pareto"]["systems"] and "gold" not in r["pareto"]["systems"]
    # no remote system: the baseline is the most accurate non-oracle system, whatever its kind
    assert r["baseline"] == "reference" and [c["system"] for c in r["comparisons"]] == ["slm"]


def test_bad_basis_is_one_line_naming_file_and_field(make_dir: MakeDir) -> None:
    d = make_dir({"a": [[1, 0]]}, systems={"a": {"pricing_basis": "vibes"}})
    with pytest.raises(ReportInputError, match=r"context\.json: systems\[0\]\.pricing_basis: .*fix"):
        analyze(d, resamples=100)
    d = make_dir({"a": [[1, 0]]}, task={"local_cost_basis": "gpu"})
    with pytest.raises(ReportInputError, match=r"context\.json: task\.local_cost_basis"):
        analyze(d, resamples=100)
    d = make_dir({"a": [[1, 0]]}, systems={"a": {"prices": {"input_per_mtok": "3$", "output_per_mtok": 1}}})
    with pytest.raises(ReportInputError, match=r"systems\[0\]\.prices\.input_per_mtok"):
        analyze(d, resamples=100)
    d = make_dir({"a": [[1, 0]]}, task={"machine_price_per_hour": -1})
    with pytest.raises(ReportInputError, match=r"task\.machine_price_per_hour"):
        analyze(d, resamples=100)


def _mixed(make_dir: MakeDir) -> Path:
    return make_dir({"api": [[1, 1, 1, 0]], "slm": [[1, 0, 1, 0]]},
                    systems={"api": {"kind": "claude", "local": False, "pricing_basis": "tokens",
                                     "prices": {"input_per_mtok": 3, "output_per_mtok": 15}},
                             "slm": {"kind": "native", "local": True, "pricing_basis": "cpu_seconds"}})


def test_mixed_bases_on_one_frontier_warn_in_every_format(make_dir: MakeDir, tmp_path: Path) -> None:
    d = _mixed(make_dir)
    build_report(d, tmp_path / "o", resamples=200)
    r = json.loads((tmp_path / "o" / "results.json").read_text())
    assert r["pareto"]["bases"] == {"api": "tokens", "slm": "cpu_seconds"} and r["pareto"]["mixed_bases"]
    warning = next(w for w in r["warnings"] if "different bases" in w)
    assert "api" in warning and "slm" in warning
    trade = next(t for t in r["pareto"]["tradeoffs"] if t["system"] == "slm")
    assert trade["bases_differ"]
    md = (tmp_path / "o" / "report.md").read_text()
    html = (tmp_path / "o" / "report.html").read_text()
    assert warning in md and warning in html
    assert "CPU seconds" in md and "list prices" in md  # each system's basis is shown with its cost


def test_one_basis_no_warning(make_dir: MakeDir) -> None:
    r = analyze(make_dir({"a": [[1, 1, 0]], "b": [[1, 0, 0]]}), resamples=200)
    assert not r["pareto"]["mixed_bases"] and not any("different bases" in w for w in r["warnings"])
