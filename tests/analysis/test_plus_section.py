"""results.json's `plus` section (base vs base+plus per system) and the pass-through of the runs rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sse.analysis import analyze


def _with_plus(d: Path, plus: dict[tuple[str, int, str], str], cases: int = 4) -> Path:
    """Give samples a plus verdict: (system, run, example_id) -> plus status."""
    path = d / "samples.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for r in rows:
        st = plus.get((r["system"], r["run"], r["example_id"]))
        if st is not None:
            r["meta"] = {"plus": {"status": st, "passed": 0, "total": cases, "cases": cases}}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


def test_no_plus_verdicts_no_section(make_dir: Callable[..., Path]) -> None:
    assert analyze(make_dir({"a": [[1, 0, 1]]}))["plus"] is None


def test_base_plus_and_drop(make_dir: Callable[..., Path]) -> None:
    grids = {"a": [[1, 1, 1, 0], [1, 1, 0, 0]], "ref": [[1, 1, 1, 1], [1, 1, 1, 1]]}
    d = make_dir(grids, deterministic={"ref": True})
    plus = {}
    for r in range(2):
        for p in range(4):
            plus[("a", r, f"p{p:02d}")] = "test_failure" if p == 1 else "pass"  # p01 passes base, fails plus
            plus[("ref", r, f"p{p:02d}")] = "pass"
    plus[("a", 0, "p03")] = "infra_error"  # no base+plus value for this cell
    res = analyze(_with_plus(d, plus))
    rows = {r["name"]: r for r in res["plus"]["systems"]}
    a = rows["a"]
    # cells kept: all but (run 0, p03); base per problem: p00 1, p01 1, p02 .5, p03 0 (run 1 only)
    assert a["base"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert a["base_plus"] == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert a["drop_points"] == pytest.approx(25.0)
    assert a["caught_by_plus"] == 2 and a["plus_infra_errors"] == 1 and a["problems_with_plus"] == 4
    assert a["drop_interval"]["lo"] <= 0.25 <= a["drop_interval"]["hi"]
    assert "cluster bootstrap" in a["base_plus_interval"]["method"]
    ref = rows["ref"]
    assert ref["base"] == ref["base_plus"] == 1.0 and ref["drop_points"] == 0.0
    assert "over problems" in ref["base_plus_interval"]["method"]  # deterministic: problems only
    assert res["plus"]["definition"]


def test_sample_without_plus_cases_counts_as_its_base(make_dir: Callable[..., Path]) -> None:
    d = make_dir({"a": [[1, 1, 0]]})
    res = analyze(_with_plus(d, {("a", 0, "p00"): "test_failure"}))
    a = res["plus"]["systems"][0]
    assert a["base"] == pytest.approx(2 / 3) and a["base_plus"] == pytest.approx(1 / 3)
    assert a["problems_with_plus"] == 1 and a["plus_cases"] == 4


def test_runs_rule_and_program_suites_pass_through(make_dir: Callable[..., Path]) -> None:
    d = make_dir({"a": [[1, 0]]})
    ctx = json.loads((d / "context.json").read_text())
    ctx["runs_rule"] = {
        "mode": "auto",
        "rule": "runs: auto (...)",
        "systems": [
            {
                "name": "a",
                "runs": 1,
                "reason": "deterministic",
                "detail": "one run",
                "half_width": 0.1,
                "spent_dollars": 0.0,
            }
        ],
    }
    ctx["program_suites"] = {"examples": 1, "measured": 0, "per_example": []}
    (d / "context.json").write_text(json.dumps(ctx))
    res = analyze(d)
    assert res["runs_rule"] == ctx["runs_rule"] and res["program_suites"] == ctx["program_suites"]
