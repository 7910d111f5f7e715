"""`runs: auto` and `ground_truth.plus` in the task config: typed values, bad ones one line each."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sse.core.errors import ConfigError
from sse.task.config import load_task
from sse.task.spec import AutoRuns

GOOD = textwrap.dedent("""\
    task: {id: t, corpus: bundled:functions}
    evaluation: {runs: 5, systems: [reference], machine_price_per_hour: 0.08, registry: models.yaml}
    prompts: {system: "You translate.", user_template: "{python_code}"}
    """)


@pytest.fixture
def taskdir(tmp_path: Path) -> Path:
    (tmp_path / "models.yaml").write_text("systems:\n  reference: {kind: reference}\n")
    return tmp_path


def _load(taskdir: Path, runs: str, extra: str = "") -> object:
    (taskdir / "t.yaml").write_text(GOOD.replace("runs: 5", f"runs: {runs}") + extra)
    return load_task(taskdir / "t.yaml")


def test_fixed_runs_have_no_rule_and_plus_is_on_by_default(taskdir: Path) -> None:
    t = _load(taskdir, "5")
    assert t.runs == 5 and t.auto_runs is None and t.ground_truth.plus is True  # type: ignore[attr-defined]
    t = _load(taskdir, "5", "ground_truth: {plus: false}\n")
    assert t.ground_truth.plus is False  # type: ignore[attr-defined]


def test_auto_is_the_default_rule_and_runs_is_its_maximum(taskdir: Path) -> None:
    t = _load(taskdir, "auto")
    assert t.auto_runs == AutoRuns() and t.runs == AutoRuns().max_runs  # type: ignore[attr-defined]


def test_auto_mapping(taskdir: Path) -> None:
    t = _load(taskdir, "{min: 2, max: 7, half_width: 0.05, budget_dollars: 12}")
    assert t.auto_runs == AutoRuns(min_runs=2, max_runs=7, half_width=0.05, budget_dollars=12.0)  # type: ignore[attr-defined]
    assert t.runs == 7  # type: ignore[attr-defined]
    t = _load(taskdir, "{paired_half_width: 0.04}", "analysis: {baseline: reference}\n")
    assert t.auto_runs.half_width is None and t.auto_runs.paired_half_width == 0.04  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "runs,extra,needle",
    [
        ("{min: 0}", "", "min_runs"),
        ("{min: 5, max: 4}", "", "min_runs <= max_runs"),
        ("{half_width: 0}", "", "half_width must be > 0"),
        ("{half_width: -1}", "", "half_width must be > 0"),
        ("{budget_dollars: -2}", "", "budget_dollars"),
        ("{confidence: 1.5}", "", "confidence"),
        ("{max: ten}", "", "evaluation.runs.max"),
        ("{mx: 10}", "", "evaluation.runs.mx"),
        ("automatic", "", "integer or auto"),
        ("{paired_half_width: 0.04}", "", "analysis.baseline"),
    ],
)
def test_bad_rule_is_one_line(taskdir: Path, runs: str, extra: str, needle: str) -> None:
    with pytest.raises(ConfigError) as ei:
        _load(taskdir, runs, extra)
    line = ei.value.one_line()
    assert "\n" not in line and "fix:" in line and needle in line and "evaluation.runs" in line
