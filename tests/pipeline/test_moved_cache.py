"""A finished cache restored at another path, or given to a fresh clone of the project, serves:
no generation and no verification (counted, not timed)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sse import graph
from sse.run.context import Plan

PLAN = Plan(task_glob="tasks/t.yaml", output="reports")


def _report(capsys: pytest.CaptureFixture[str], judge: Any) -> list[str]:
    """Run the whole graph; the names of the tasks doit executed (not those up to date)."""
    capsys.readouterr()
    assert graph.run_doit(["report"], PLAN, judge=judge) == 0
    return [ln[3:] for ln in capsys.readouterr().out.splitlines() if ln.startswith(".  ")]


def _build_stamps(cache: Path) -> dict[Path, int]:
    return {p.relative_to(cache): p.stat().st_mtime_ns for p in (cache / "build").rglob("*.json")}


def test_a_cache_copied_to_another_path_serves(
    project: Path,
    calls: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    judge: Any,
) -> None:
    assert _report(capsys, judge)  # cold: everything ran
    assert sum(calls.values()) and sum(judge.counts.values())
    calls.clear()
    judge.counts.clear()
    moved = project.parent / f"{project.name}-restored-cache"
    shutil.copytree(project / "cache", moved)  # a plain copy: new path, new mtimes
    monkeypatch.setenv("SSE_CACHE_DIR", str(moved))
    stamps = _build_stamps(moved)
    ran = _report(capsys, judge)
    assert sum(calls.values()) == 0 and sum(judge.counts.values()) == 0
    assert not [t for t in ran if t.startswith(("corpus", "generate", "verify"))], ran
    assert _build_stamps(moved) == stamps  # no build file rewritten
    assert ran == []  # the reports are where they were: nothing at all to do


def test_a_fresh_clone_given_the_cache_serves(
    project: Path,
    calls: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    judge: Any,
) -> None:
    assert _report(capsys, judge)
    calls.clear()
    judge.counts.clear()
    clone = project.parent / f"{project.name}-clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("cache", "reports"))
    shutil.copytree(project / "cache", clone / "ci-cache")  # the CI cache, restored beside the clone
    monkeypatch.chdir(clone)
    monkeypatch.setenv("SSE_CACHE_DIR", str(clone / "ci-cache"))
    stamps = _build_stamps(clone / "ci-cache")
    ran = _report(capsys, judge)
    assert sum(calls.values()) == 0 and sum(judge.counts.values()) == 0
    assert not [t for t in ran if t.startswith(("corpus", "generate", "verify"))], ran
    assert _build_stamps(clone / "ci-cache") == stamps
    assert (clone / "reports" / "tiny" / "report.md").exists()  # the clone's own report, from the cache


def test_a_native_model_and_its_answers_serve_from_a_restored_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], judge: Any
) -> None:
    """The converted model and the native answers are found again: nothing fetched, converted,
    validated, generated or verified (the fingerprint does not depend on where the .apr is)."""
    from sse.artifacts import stages
    from sse.artifacts.tiny import make_tiny_llama
    from sse.runtime import generate

    make_tiny_llama(project / "model", seed=3)
    with open(project / "tasks" / "models.yaml", "a") as f:
        f.write(
            "  tiny: {kind: native, source: {path: ../model}, options: {quantization: f32, batch_size: 2}}\n"
        )
    task = project / "tasks" / "t.yaml"
    task.write_text(
        task.read_text().replace(
            "runs: 3, systems: [reference, det, sto]", "runs: 2, systems: [reference, tiny], max_tokens: 8"
        )
    )
    work: Counter[str] = Counter()
    real_convert, real_generate = stages.convert_stage, generate.generate

    def convert(*a: Any, **k: Any) -> Any:
        work["convert"] += 1
        return real_convert(*a, **k)

    def gen(*a: Any, **k: Any) -> Any:
        work["generate"] += 1
        return real_generate(*a, **k)

    monkeypatch.setattr(stages, "convert_stage", convert)
    monkeypatch.setattr(generate, "generate", gen)
    assert _report(capsys, judge)
    assert work["convert"] == 1 and work["generate"] >= 1 and judge.counts
    work.clear()
    judge.counts.clear()
    clone = project.parent / f"{project.name}-native-clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("cache", "reports"))
    shutil.copytree(project / "cache", clone / "restored")
    monkeypatch.chdir(clone)
    monkeypatch.setenv("SSE_CACHE_DIR", str(clone / "restored"))
    ran = _report(capsys, judge)
    assert not work and not judge.counts
    assert not [
        t for t in ran if t.startswith(("corpus", "fetch", "convert", "validate", "generate", "verify"))
    ], ran
