"""The sample grid: which samples count, the problems, and each system's problems x runs matrix.

Everything downstream (intervals, comparisons, costs, frontiers) reads these
matrices, so exclusions are decided once, here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from sse.analysis.inputs import Inputs
from sse.core.records import Sample


@dataclass
class Grid:
    """Usable samples per system (first of each (system, example, run); infra_error excluded)."""

    by_sys: dict[str, list[Sample]]
    excluded: Counter[str]
    dupes: int
    problems: list[str]
    level_of: dict[str, int]
    pidx: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.pidx = {p: i for i, p in enumerate(self.problems)}

    def matrix(self, samples: list[Sample], values: list[float | None]) -> tuple[np.ndarray, list[int]]:
        """problems x runs matrix of `values` (NaN where a cell has no sample or no value), and the runs."""
        runs = sorted({int(s.run) for s in samples})
        ridx = {r: i for i, r in enumerate(runs)}
        out = np.full((len(self.problems), len(runs)), np.nan)
        for s, v in zip(samples, values, strict=True):
            if v is not None:
                out[self.pidx[s.example_id], ridx[int(s.run)]] = v
        return out, runs

    def warnings(self) -> list[str]:
        out = []
        if self.dupes:
            out.append(f"{self.dupes} duplicate (system, example, run) sample(s) ignored; the first of each kept")
        for name, n in sorted(self.excluded.items()):
            out.append(f"{name}: {n} infra_error sample(s) excluded (harness failure, not a model failure)")
        return out


def sample_grid(inp: Inputs) -> Grid:
    by_sys: dict[str, list[Sample]] = defaultdict(list)
    excluded: Counter[str] = Counter()
    seen: set[tuple[str, str, int]] = set()
    dupes = 0
    for s in inp.samples:
        k = (s.system, s.example_id, int(s.run))
        if k in seen:
            dupes += 1
            continue
        seen.add(k)
        if s.status == "infra_error":
            excluded[s.system] += 1
            continue
        by_sys[s.system].append(s)
    problems = sorted({s.example_id for ss in by_sys.values() for s in ss})
    level_of: dict[str, int] = {}
    for s in inp.samples:
        level_of.setdefault(s.example_id, int(s.level))
    for eid, ex in inp.examples.items():
        if ex.get("level") is not None:
            level_of[eid] = int(ex["level"])
    return Grid(dict(by_sys), excluded, dupes, problems, level_of)


def system_order(inp: Inputs) -> list[str]:
    """Systems in the order the task lists them, then any only the samples name."""
    names = [str(s.get("name")) for s in inp.context.get("systems") or [] if s.get("name")]
    for s in inp.samples:
        if s.system not in names:
            names.append(s.system)
    return names


def skipped_systems(inp: Inputs, grid: Grid) -> list[dict[str, str]]:
    """Systems listed in the context that have no usable sample, each with why (never None)."""
    out = []
    for name in system_order(inp):
        meta = inp.systems_meta.get(name, {})
        if not meta.get("skipped_reason") and grid.by_sys.get(name):
            continue
        reason = meta.get("skipped_reason")
        if not reason:
            n = grid.excluded.get(name, 0)
            reason = (f"no usable samples: all {n} sample(s) were infra_error (harness failures), excluded"
                      if n else "no samples recorded")
        out.append({"name": name, "reason": str(reason)})
    return out
