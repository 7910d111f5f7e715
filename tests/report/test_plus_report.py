"""The report shows base / base+plus / drop, the runs rule with each system's stop reason, and the
program suites' mutation scores: the figures of results.json, formatted, never recomputed."""

from __future__ import annotations

import json
from pathlib import Path

from sse.analysis.synthetic import write_inputs
from sse.report.render import build_report, ci, pct, pts


def test_plus_runs_and_suites_sections(tmp_path: Path) -> None:
    d = write_inputs(tmp_path / "in", problems=6, runs=2)
    path = d / "samples.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for i, r in enumerate(rows):
        r["meta"] = {"plus": {"status": "test_failure" if i % 3 == 0 else "pass", "cases": 5}}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ctx = json.loads((d / "context.json").read_text())
    names = [s["name"] for s in ctx["systems"]]
    ctx["runs_rule"] = {
        "mode": "auto",
        "rule": "runs: auto (3-10 runs until ...)",
        "systems": [
            {
                "name": n,
                "runs": 2,
                "reason": "settled",
                "detail": f"half-width 0.02{i} <= target 0.0300",
                "half_width": 0.02,
                "spent_dollars": 1.5,
            }
            for i, n in enumerate(names)
        ],
    }
    ctx["program_suites"] = {
        "examples": 2,
        "measured": 1,
        "mutants": 10,
        "killed": 7,
        "score": 0.7,
        "weak_tests": 1,
        "scored_tests": 4,
        "with_plus": 1,
        "plus_argvs": 3,
        "killed_by_plus_not_suite": 2,
        "how": "sse program-certify --mutants --plus",
        "per_example": [
            {
                "example": "example_abs",
                "measured": True,
                "mutants": 10,
                "killed": 7,
                "score": 0.7,
                "weak": 1,
                "plus": {"argvs": 3},
            },
            {"example": "example_bin", "measured": False},
        ],
    }
    (d / "context.json").write_text(json.dumps(ctx))
    build_report(d, d / "out")
    results = json.loads((d / "out" / "results.json").read_text())
    md = (d / "out" / "report.md").read_text()
    html = (d / "out" / "report.html").read_text()
    assert "## Base vs base+plus" in md and 'id="plus"' in html
    for p in results["plus"]["systems"]:
        for text in (md, html):
            assert pct(p["base"]) in text and pct(p["base_plus"]) in text and pts(p["drop_points"]) in text
            assert ci(p["base_plus_interval"]) in text and ci(p["drop_interval"]) in text
    assert "runs: auto (3-10 runs until ...)" in md and "runs: auto (3-10 runs until ...)" in html
    for i, _ in enumerate(names):
        assert f"settled: half-width 0.02{i} <= target 0.0300" in md
        assert f"half-width 0.02{i} &lt;= target 0.0300" in html
    assert "7/10 Python mutants killed (70.0%)" in md and "7/10 Python mutants killed (70.0%)" in html
    assert (
        "| example_abs | 10 | 7 | 70% | 1 | 3 |" in md and "| example_bin | n/a | n/a | n/a | n/a | 0 |" in md
    )


def test_without_the_new_sections_nothing_is_shown(tmp_path: Path) -> None:
    d = write_inputs(tmp_path / "in", problems=4, runs=2)
    build_report(d, d / "out")
    md = (d / "out" / "report.md").read_text()
    assert "base+plus" not in md and "## Runs" not in md and "Program suites" not in md
