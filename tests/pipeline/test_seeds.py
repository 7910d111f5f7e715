"""The decoding seed (evaluation.seed, in every generation key) and the bootstrap seed
(analysis.seed) are separate: changing the bootstrap seed regenerates nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sse.cli import main
from sse.core.errors import ConfigError
from sse.core.store import Store
from sse.task.config import load_task


def _set_analysis(project: Path, analysis: str) -> None:
    task = project / "tasks" / "t.yaml"
    task.write_text(task.read_text().replace("analysis: {bootstrap_resamples: 200}", f"analysis: {analysis}"))


def _completion_keys(project: Path) -> set[str]:
    with Store(project / "cache" / "store") as st:
        return set(st.keys("completion"))


def _bootstrap_seed(project: Path) -> int:
    (results,) = (project / "reports").rglob("results.json")
    return json.loads(results.read_text())["manifest"]["seeds"]["bootstrap"]


def test_analysis_seed_defaults_to_the_evaluation_seed(project: Path) -> None:
    task = project / "tasks" / "t.yaml"
    task.write_text(
        task.read_text().replace("machine_price_per_hour: 0.1}", "machine_price_per_hour: 0.1, seed: 5}")
    )
    old = load_task(task)
    assert (old.seed, old.decoding.seed, old.analysis_seed) == (5, 5, 5)
    _set_analysis(project, "{bootstrap_resamples: 200, seed: 9}")
    new = load_task(task)
    assert (new.seed, new.decoding.seed, new.analysis_seed) == (5, 5, 9)
    assert new.decoding == old.decoding


def test_changing_the_bootstrap_seed_regenerates_nothing(project: Path, calls: Counter[str]) -> None:
    argv = ["evaluate", "--tasks", "tasks/t.yaml", "--models", "reference,det,sto", "--runs", "2"]
    _set_analysis(project, "{bootstrap_resamples: 200, seed: 7}")
    assert main(argv) == 0
    generated, keys = sum(calls.values()), _completion_keys(project)
    assert generated > 0 and _bootstrap_seed(project) == 7
    task = project / "tasks" / "t.yaml"
    task.write_text(task.read_text().replace("seed: 7", "seed: 8"))
    assert main(argv) == 0
    assert sum(calls.values()) == generated  # no system was asked again (the stochastic one included)
    assert _completion_keys(project) == keys  # no generation key changed
    assert _bootstrap_seed(project) == 8  # and the statistics did use the new seed


@pytest.mark.parametrize(
    ("section", "key"), [("task", "domain"), ("evaluation", "samples"), ("evaluation", "metrics")]
)
def test_retired_keys_are_one_line_errors(project: Path, section: str, key: str) -> None:
    task = project / "tasks" / "t.yaml"
    text = task.read_text()
    head = {"task": "task: {", "evaluation": "evaluation: {"}[section]
    task.write_text(text.replace(head, f"{head}{key}: x, ", 1))
    with pytest.raises(ConfigError) as e:
        load_task(task)
    line = str(e.value)
    assert "\n" not in line and f"{section}.{key}" in line and "t.yaml" in line and "delete it" in line
