"""Issue 19 item 11: a truncated or altered build shard is rebuilt from the store, and said so."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sse.graph import run_doit
from sse.run.context import Plan
from sse.run.shards import read_entries

PLAN = Plan(task_glob="tasks/t.yaml", output="reports")


def _entries(project: Path, stage: str, system: str = "det", run: int = 0) -> list[dict[str, object]]:
    return read_entries(project / "cache/build/tiny" / system / f"{stage}-r{run}.json")[1]


def _shard(project: Path, stage: str, system: str = "det") -> Path:
    return sorted((project / "cache/build/tiny" / system).glob(f"{stage}-r0.d/*.json"))[0]


def test_a_truncated_shard_is_rebuilt_from_the_store(project: Path, calls: Counter[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_doit(["report"], PLAN) == 0
    before = {s: _entries(project, s) for s in ("generate", "verify")}
    n_calls = sum(calls.values())
    for stage, frac in (("verify", 0.5), ("generate", 0.3)):
        p = _shard(project, stage)
        p.write_bytes(p.read_bytes()[: int(p.stat().st_size * frac)])
    capsys.readouterr()
    assert run_doit(["report"], PLAN) == 0
    err = capsys.readouterr().err
    assert err.count("damaged build file") == 2 and "Traceback" not in err
    assert {s: _entries(project, s) for s in ("generate", "verify")} == before
    assert sum(calls.values()) == n_calls  # nothing regenerated: every entry came from the store


def test_an_altered_shard_of_the_same_size_is_caught_when_read(project: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run_doit(["report"], PLAN) == 0
    before = _entries(project, "verify")
    p = _shard(project, "verify")
    data = p.read_bytes()
    p.write_bytes(data.replace(b'"pass"', b'"fail"', 1))
    assert p.stat().st_size == len(data)
    (project / "reports/tiny/results.json").unlink()  # the stats stage reads every shard again
    capsys.readouterr()
    assert run_doit(["report"], PLAN) == 0
    err = capsys.readouterr().err
    assert "damaged build file" in err and "do not match the digest" in err
    assert _entries(project, "verify") == before


def test_an_up_to_date_run_needs_no_writes_and_a_needed_write_is_one_line(project: Path) -> None:
    """Issue 19 item 12: a read-only cache folder gave raw sqlite3 tracebacks even with nothing to do."""
    import os
    import shutil
    import subprocess
    import sys

    (project / "tasks" / "ro.yaml").write_text((project / "tasks" / "t.yaml").read_text().replace(
        "systems: [reference, det, sto]", "systems: [reference]"))
    cache = project / "cache"
    sse = [sys.executable, "-c", "import sys; from sse.cli.main import main; sys.exit(main())", "evaluate",
           "--tasks", "tasks/ro.yaml"]
    env = dict(os.environ, SSE_CACHE_DIR=str(cache))
    first = subprocess.run(sse, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    if os.geteuid() == 0:
        if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
            pytest.skip("no private mount namespace")
        wrap = ["unshare", "-m", "sh", "-c", f'mount --bind "{cache}" "{cache}" && '
                f'mount -o remount,ro,bind "{cache}" && exec "$@"', "sh"]
    else:
        for q in [cache, *cache.rglob("*")]:
            q.chmod(q.stat().st_mode & ~0o222)
        wrap = []
    again = subprocess.run([*wrap, *sse], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    more = subprocess.run([*wrap, *sse, "--runs", "4"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)
    assert more.returncode != 0 and "Traceback" not in more.stdout + more.stderr
    line = next(ln for ln in more.stderr.splitlines() if ln.startswith("sse: error:"))
    assert str(cache) in line and "read-only" in line and "SSE_CACHE_DIR" in line
