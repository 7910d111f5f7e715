"""Stage timing records and the tokens/s of the progress line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.run.progress import Progress
from sse.run.timings import read_record, stage_times, timed


def _burn_cpu() -> None:
    x = 0
    for i in range(200_000):
        x += i * i


def test_timed_records_wall_cpu_and_failure(tmp_path: Path) -> None:
    with timed("generate", "t:sys:r0", root=tmp_path):
        _burn_cpu()
    rec = read_record("generate", "t:sys:r0", root=tmp_path)
    assert rec is not None and rec["ok"] is True and rec["wall_s"] >= 0 and rec["cpu_s"] >= 0
    with pytest.raises(RuntimeError), timed("verify", "t:sys:r0", root=tmp_path):
        raise RuntimeError("stage failed")
    rec = read_record("verify", "t:sys:r0", root=tmp_path)
    assert rec is not None and rec["ok"] is False


def test_stage_times_per_stage_and_system(tmp_path: Path) -> None:
    from sse.run.timings import record

    for run in range(3):
        record("generate", f"t:smol:r{run}", 2.0, 1.5, root=tmp_path)
    record("generate", "t:smol:rx", 100.0, 100.0, root=tmp_path)  # not a run of this task
    record("generate", "other:smol:r0", 100.0, 100.0, root=tmp_path)  # another task
    record("verify", "t:smol:r0", 1.0, 0.5, root=tmp_path)
    record("verify", "t:ref:r0", 3.0, 2.5, root=tmp_path)
    record("fetch", "smol", 4.0, 0.25, root=tmp_path)
    record("convert", "smol", 30.0, 29.0, root=tmp_path)
    for stage in ("corpus", "stats", "report"):
        record(stage, "t", 0.5, 0.5, root=tmp_path)
    record("stats", "other", 100.0, 100.0, root=tmp_path)
    got = stage_times("t", ["smol", "ref"], ["smol"], root=tmp_path)
    assert list(got) == ["corpus", "fetch", "convert", "generate", "verify", "stats", "report"]  # graph order
    assert got["generate"]["wall_s"] == 6.0 and got["generate"]["cpu_s"] == 4.5
    assert got["generate"]["by_system"] == {"smol": {"wall_s": 6.0, "cpu_s": 4.5, "executions": 3}}
    assert got["verify"]["wall_s"] == 4.0 and set(got["verify"]["by_system"]) == {"smol", "ref"}
    assert got["convert"]["by_system"]["smol"]["cpu_s"] == 29.0
    assert got["stats"] == {"wall_s": 0.5, "cpu_s": 0.5}


def test_progress_shows_tokens_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("generate t smol r0", total=4) as bar:
        assert bar.tokens_per_s is None
        bar.advance(2, tokens=300, seconds=2.0)
        bar.advance(2, tokens=100, seconds=2.0)
    assert bar.tokens_per_s == 100.0
    err = capsys.readouterr().err
    assert "150.0 tokens/s" in err and "100.0 tokens/s" in err
    with Progress("verify t ref r0", total=1) as plain:
        plain.advance(1)
    assert "tokens/s" not in capsys.readouterr().err


def test_report_manifest_records_stage_times(project: Path) -> None:
    """Every stage that ran leaves wall/CPU seconds; the manifest lists them per stage and system."""
    import json

    from sse.graph import run_doit
    from sse.run.context import Plan

    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    out = project / "reports" / "tiny"
    results = json.loads((out / "results.json").read_text())
    stages = results["manifest"]["stages"]
    assert list(stages) == ["corpus", "generate", "verify", "stats"]  # what had run when stats wrote it
    assert set(stages["generate"]["by_system"]) == {"reference", "det", "sto"}
    assert stages["generate"]["by_system"]["sto"]["executions"] == 3  # stochastic: every run generated
    assert all(e["wall_s"] >= 0 and e["cpu_s"] >= 0 for e in stages.values())
    full = json.loads((out / "stages.json").read_text())
    assert list(full) == ["corpus", "generate", "verify", "stats", "pareto", "report"]
    md = (out / "report.md").read_text()
    tail = md[md.index("Reproducibility manifest") :]
    assert '"stages"' in tail and '"pareto"' in tail  # rendered with the pareto stage
    records = sorted(p.parent.name for p in (project / "cache" / "timings").rglob("*.json"))
    assert records.count("generate") == 9 and records.count("report") == 1
