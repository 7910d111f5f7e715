"""Where the time goes: wall and CPU seconds per stage execution, kept under the cache and
gathered into the report's manifest.

Why records on disk: doit runs each stage as a separate action (in worker processes under
`doit -n`), and an up-to-date stage does not run at all. Each execution overwrites one small
JSON record named after its doit task, so the manifest shows what producing the report
cost when each stage last ran, also after a no-op rerun.

CPU seconds are this process's user+system time plus that of the child processes it waited
for (rustc, the test binaries, py2many); work in a pool worker that outlives the stage is
not counted.
"""

from __future__ import annotations

import contextlib
import json
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sse.core.errors import StoreError
from sse.core.store import atomic_write_text, cache_root

#: stages in graph order (what the manifest lists, in this order)
STAGES = ("corpus", "fetch", "convert", "validate", "generate", "verify", "stats", "pareto", "report")


def timings_dir(root: Path | None = None) -> Path:
    return (root if root is not None else cache_root()) / "timings"


def _record_path(stage: str, name: str, root: Path | None = None) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return timings_dir(root) / stage / f"{safe}.json"


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextlib.contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Fill the yielded dict with wall_s and cpu_s of the block (also when it raises)."""
    out: dict[str, float] = {}
    t0, c0 = time.perf_counter(), _cpu_s()
    try:
        yield out
    finally:
        out["wall_s"] = round(time.perf_counter() - t0, 3)
        out["cpu_s"] = round(_cpu_s() - c0, 3)


def record(
    stage: str,
    name: str,
    wall_s: float,
    cpu_s: float,
    *,
    ok: bool = True,
    root: Path | None = None,
    **extra: Any,
) -> None:
    """Write one stage execution's record; a cache that cannot be written costs the figure, not the run."""
    rec = {
        "stage": stage,
        "name": name,
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "ok": ok,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
    path = _record_path(stage, name, root)
    # a read-only or full cache raises StoreError from the atomic write: the run's own error says so
    with contextlib.suppress(OSError, StoreError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(rec, sort_keys=True))


@contextlib.contextmanager
def timed(stage: str, name: str, root: Path | None = None) -> Iterator[None]:
    """Record the block as one execution of `stage` (doit task `stage:name`); ok=False when it raised."""
    ok = False
    t0, c0 = time.perf_counter(), _cpu_s()
    try:
        yield
        ok = True
    finally:
        record(stage, name, time.perf_counter() - t0, _cpu_s() - c0, ok=ok, root=root)


def read_record(stage: str, name: str, root: Path | None = None) -> dict[str, Any] | None:
    try:
        rec = json.loads(_record_path(stage, name, root).read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def stage_times(
    task_id: str, systems: Iterable[str], models: Iterable[str] | None = None, root: Path | None = None
) -> dict[str, Any]:
    """Per stage: wall and CPU seconds summed over its executions for this task, and per system
    for generate and verify (all runs); fetch/convert/validate per model (default: the systems
    that have such stages). Stages with no record (never run here, e.g. a model given as an .apr)
    are left out."""
    out: dict[str, Any] = {}
    tdir = timings_dir(root)

    def add(stage: str, recs: list[dict[str, Any]], by: str | None = None) -> None:
        if not recs:
            return
        entry = out.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0})
        for r in recs:
            entry["wall_s"] = round(entry["wall_s"] + float(r.get("wall_s", 0.0)), 3)
            entry["cpu_s"] = round(entry["cpu_s"] + float(r.get("cpu_s", 0.0)), 3)
        if by is not None:
            per = entry.setdefault("by_system", {}).setdefault(
                by, {"wall_s": 0.0, "cpu_s": 0.0, "executions": 0}
            )
            for r in recs:
                per["wall_s"] = round(per["wall_s"] + float(r.get("wall_s", 0.0)), 3)
                per["cpu_s"] = round(per["cpu_s"] + float(r.get("cpu_s", 0.0)), 3)
                per["executions"] += 1

    def task_runs(stage: str, system: str) -> list[dict[str, Any]]:
        folder = tdir / stage
        prefix = _record_path(stage, f"{task_id}:{system}:r", root).name[: -len(".json")]
        recs = []
        for p in sorted(folder.glob(f"{prefix}*.json")) if folder.is_dir() else []:
            if p.name[len(prefix) : -len(".json")].isdigit():
                with contextlib.suppress(OSError, ValueError):
                    recs.append(json.loads(p.read_text()))
        return recs

    systems = list(systems)
    models = systems if models is None else list(models)
    for stage in STAGES:
        if stage in ("fetch", "convert", "validate"):
            for m in models:
                rec = read_record(stage, m, root)
                add(stage, [rec] if rec else [], by=m)
        elif stage in ("generate", "verify"):
            for s in systems:
                add(stage, task_runs(stage, s), by=s)
        else:
            rec = read_record(stage, task_id, root)
            add(stage, [rec] if rec else [])
    return out


def run_timed(stage: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A doit action run under `timed` (module level, so `doit -n` can pickle it); fn's result is doit's,
    and an action that reports failure by returning False is recorded as not ok."""
    ok = False
    t0, c0 = time.perf_counter(), _cpu_s()
    try:
        result = fn(*args, **kwargs)
        ok = result is not False
        return result
    finally:
        record(stage, name, time.perf_counter() - t0, _cpu_s() - c0, ok=ok)
