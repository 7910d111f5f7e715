"""The run layer is plain code handed a context; only sse.graph knows doit, and it is handed the Plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sse.graph import run_doit
from sse.run.context import Plan


def test_importing_the_run_layer_and_the_graph_touches_no_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code = "import sse.graph, sse.run.collect, sse.run.corpus, sse.run.generate, sse.run.verify, sse.run.shards\n"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "SSE_CACHE_DIR": str(cache)})
    assert not cache.exists()


def test_the_graph_is_handed_the_plan_not_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("SSE_TASKS", "SSE_MODELS", "SSE_RUNS", "SSE_OUTPUT"):
        monkeypatch.delenv(var, raising=False)
    assert (
        run_doit(["list", "--all", "generate"], Plan(task_glob="tasks/t.yaml", models=("det",), runs=2)) == 0
    )
    listed = capsys.readouterr().out.split()
    assert [t for t in listed if t.startswith("generate:")] == [
        "generate:tiny:det:r0",
        "generate:tiny:det:r1",
    ]
    assert not any(var in os.environ for var in ("SSE_TASKS", "SSE_MODELS", "SSE_RUNS", "SSE_OUTPUT"))


def test_plan_survives_its_json_form() -> None:
    plan = Plan(task_glob="tasks/*.yaml", models=("a", "b"), runs=3, output="out")
    assert Plan.from_json(plan.to_json()) == plan


def test_dodo_is_a_shim_the_doit_command_line_can_load(project: Path) -> None:
    """`doit -f dodo.py` builds its Plan from SSE_* variables and sees only the stage creators."""
    dodo = Path(__file__).resolve().parents[2] / "dodo.py"
    env = {
        **os.environ,
        "SSE_TASKS": str(project / "tasks/t.yaml"),
        "SSE_MODELS": "reference",
        "SSE_RUNS": "1",
        "PYTHONPATH": str(dodo.parent),
    }
    out = subprocess.run(
        [sys.executable, "-m", "doit", "-f", str(dodo), "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"corpus", "generate", "verify", "stats", "pareto", "report"} <= set(out)
