"""Strict task/registry validation: every problem is one line naming file, key and fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sse.core.errors import ConfigError
from sse.task.config import load_registry, load_task, load_tasks, systems_for

GOOD = textwrap.dedent("""\
    task: {id: t, corpus: bundled:functions}
    evaluation: {runs: 5, systems: [reference, py2many], machine_price_per_hour: 0.08, registry: models.yaml}
    prompts:
      system: "You translate."
      user_template: "{python_code} -> {rust_signature}"
    ground_truth: {type: compiler, limits: {test_timeout_s: 5}}
    """)


@pytest.fixture
def taskdir(tmp_path: Path) -> Path:
    (tmp_path / "models.yaml").write_text("systems:\n  reference: {kind: reference}\n  py2many: {kind: py2many}\n")
    (tmp_path / "t.yaml").write_text(GOOD)
    return tmp_path


def _err(taskdir: Path, text: str) -> str:
    (taskdir / "t.yaml").write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_task(taskdir / "t.yaml")
    line = ei.value.one_line()
    assert "\n" not in line and str(taskdir / "t.yaml") in line and "fix:" in line
    return line


def test_good_task_is_typed(taskdir: Path) -> None:
    t = load_task(taskdir / "t.yaml")
    assert t.runs == 5 and t.decoding.temperature == 0.0 and t.ground_truth.limits.test_timeout_s == 5.0
    assert t.machine_price_per_hour == pytest.approx(0.08)
    sys_, user = t.render(python_code="def f(): pass", rust_signature="pub fn f()")
    assert user == "def f(): pass -> pub fn f()"
    assert [s.name for s in systems_for(t)] == ["reference", "py2many"]


@pytest.mark.parametrize("old,new,needle", [
    ("runs: 5", "runs: five", "evaluation.runs"),
    ("runs: 5", "runs: 0", "evaluation.runs"),
    ("runs: 5", "runs: true", "evaluation.runs"),
    ("machine_price_per_hour: 0.08, ", "", "evaluation.machine_price_per_hour"),
    ("type: compiler", "type: judge", "ground_truth.type"),
    ("limits: {test_timeout_s: 5}", "limits: {test_timeout: 5}", "ground_truth.limits.test_timeout"),
    ("{rust_signature}", "{rust_sig}", "prompts.user_template"),
    ("bundled:functions", "bundled:nope", "task.corpus"),
    ("bundled:functions", "missing.jsonl", "task.corpus"),
    ("registry: models.yaml", "registry: nope.yaml", "evaluation.registry"),
    ("task: {id: t,", "task: {idd: t,", "task.idd"),
])
def test_each_mistake_is_one_line(taskdir: Path, old: str, new: str, needle: str) -> None:
    assert old in GOOD
    assert needle in _err(taskdir, GOOD.replace(old, new))


def test_malformed_yaml_names_line(taskdir: Path) -> None:
    line = _err(taskdir, "task: {id: t\nevaluation: [\n")
    assert "malformed YAML at line" in line


def test_unknown_system_and_kind(taskdir: Path) -> None:
    t = load_task(taskdir / "t.yaml")
    with pytest.raises(ConfigError, match="unknown system 'gpt'"):
        systems_for(t, ["gpt"])
    (taskdir / "models.yaml").write_text("systems:\n  x: {kind: reference, price: 3}\n")
    with pytest.raises(ConfigError, match=r"systems\.x\.price"):
        load_registry(taskdir / "models.yaml")


def test_no_task_matches_glob(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no task file matches"):
        load_tasks(str(tmp_path / "*.yaml"))


def test_bundled_tasks_load() -> None:
    root = Path(__file__).resolve().parents[2] / "tasks"
    tasks = load_tasks(str(root / "*.yaml"))
    assert {t.id for t in tasks} >= {"python-to-rust"}
    for t in tasks:
        systems_for(t)


def test_non_utf8_task_and_registry_are_one_line(taskdir: Path) -> None:
    """Issue 19 item 10: a Latin-1 file gave a raw UnicodeDecodeError."""
    (taskdir / "t.yaml").write_bytes(GOOD.replace("You translate.", "Vous traduisez \xe9l\xe9gamment.").encode("latin-1"))
    with pytest.raises(ConfigError) as ei:
        load_task(taskdir / "t.yaml")
    msg = ei.value.one_line()
    assert "\n" not in msg and str(taskdir / "t.yaml") in msg and "UTF-8" in msg and "line 4" in msg
    (taskdir / "t.yaml").write_text(GOOD)
    (taskdir / "models.yaml").write_bytes(b"systems:\n  r\xe9f: {kind: reference}\n")
    with pytest.raises(ConfigError) as ei:
        systems_for(load_task(taskdir / "t.yaml"), None)
    assert "models.yaml" in ei.value.one_line() and "UTF-8" in ei.value.one_line()
