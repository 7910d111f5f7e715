"""Base vs base+plus pass@1 per system, like EvalPlus's HumanEval / HumanEval+ columns.

Pure: the sample grid in, one row per system out. Each sample carries its plus verdict in
`meta["plus"]` (`{"status", "passed", "total", "cases"}`; written by the run layer): a function
answer is judged a second time with the plus cases appended, a program's differential plus
argvs sit beside its suite verdict. base+plus passes when base passes and the plus verdict
passes; a sample without plus cases passes base+plus as it passes base (nothing more to check),
one whose plus verdict is a harness failure has no base+plus value. Intervals are built the way
the headline's are (`figures.attach_intervals`): the cluster bootstrap over problems x runs,
or over problems for a deterministic system; the drop's is paired (same resamples of the
difference matrix).
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from sse.analysis import stats as st
from sse.analysis.figures import SystemFigures
from sse.analysis.grid import Grid
from sse.core.records import Sample, Verdict
from sse.task.corpus.plus import split_views

DEFINITION = (
    "base: the corpus's own tests; base+plus: the same answer also judged on the plus cases (inputs "
    "generated from the types and seeds, expected values from the Python; for programs, differential "
    "argument vectors compared with the Python); drop = base - base+plus, in points"
)


def plus_value(s: Sample) -> float | None:
    """1/0 on base+plus, None when the plus verdict was a harness failure."""
    p = s.meta.get("plus") if isinstance(s.meta, dict) else None
    if not isinstance(p, dict):
        return 1.0 if s.passed else 0.0
    if p.get("status") == "infra_error":
        return None
    return 1.0 if s.passed and p.get("status") == "pass" else 0.0


def has_plus(samples: list[Sample]) -> bool:
    return any(isinstance(s.meta, dict) and isinstance(s.meta.get("plus"), dict) for s in samples)


def _mean(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without data are NaN by design
        return np.nanmean(x, axis=1)


def _interval(X: np.ndarray, det: bool, B: int, seed: int, label: str) -> dict[str, Any]:
    rate = _mean(X)
    has = ~np.isnan(rate)
    est = float(rate[has].mean()) if has.any() else float("nan")
    if det or X.shape[1] == 1:
        dist = st.bootstrap_means(rate[:, None], B, seed)[:, 0]
        method = f"bootstrap over problems, {B} resamples, percentile"
    else:
        dist = st.cluster_bootstrap(X, B, seed)
        method = f"cluster bootstrap over problems x runs, {B} resamples"
    return st.percentile_interval(dist, est, method=method, note=label).to_dict()


def plus_section(grid: Grid, figs: list[SystemFigures], B: int, seed: int) -> dict[str, Any] | None:
    """{definition, systems: [{name, base, base_plus, drop_points, intervals, counts}]}, or None when no
    sample was judged on plus cases (a corpus without `_plus/`, or `ground_truth.plus: false`)."""
    names = [f.row["name"] for f in figs]
    if not any(has_plus(grid.by_sys.get(n, [])) for n in names):
        return None
    rows = []
    for j, f in enumerate(figs):
        ss = grid.by_sys[f.row["name"]]
        det = bool(f.row["deterministic"])
        XP, _ = grid.matrix(ss, [plus_value(s) for s in ss])
        XB = np.where(np.isnan(XP), np.nan, f.passes)  # base on the same cells, so the drop is paired
        s_seed = seed + 10 * j
        base, plus = _interval(XB, det, B, s_seed, "base"), _interval(XP, det, B, s_seed, "base+plus")
        drop = _interval(XB - XP, det, B, s_seed, "base - base+plus, paired")
        judged = [s for s in ss if isinstance(s.meta, dict) and isinstance(s.meta.get("plus"), dict)]
        rows.append(
            {
                "name": f.row["name"],
                "deterministic": det,
                "runs": len(f.runs),
                "base": base["estimate"],
                "base_plus": plus["estimate"],
                "drop_points": None if drop["estimate"] is None else 100.0 * drop["estimate"],
                "base_interval": base,
                "base_plus_interval": plus,
                "drop_interval": drop,
                "samples": len(ss),
                "samples_with_plus": len(judged),
                "problems_with_plus": len({s.example_id for s in judged}),
                "plus_cases": sum(
                    {s.example_id: int(s.meta["plus"].get("cases") or 0) for s in judged}.values()
                ),
                "plus_infra_errors": sum(1 for s in judged if s.meta["plus"].get("status") == "infra_error"),
                "caught_by_plus": sum(
                    1
                    for s in judged
                    if s.passed
                    and s.meta["plus"].get("status") != "pass"
                    and s.meta["plus"].get("status") != "infra_error"
                ),
            }
        )
    return {"definition": DEFINITION, "systems": rows}


def base_plus_table(
    samples: Iterable[Sample], verdicts: Mapping[str, Verdict], base_counts: Mapping[str, tuple[int, int]]
) -> dict[str, dict[str, Any]]:
    """system -> {base, base_plus, drop_points, examples, examples_with_plus, runs}.

    `base_counts`: example id -> (base cases, all cases). pass@1 is the mean over runs of the
    per-run pass rate over problems (a sample without a verdict counts as a failure)."""
    runs: dict[str, dict[int, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    examples: dict[str, set[str]] = defaultdict(set)
    with_plus: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        v = verdicts.get(s.verdict_key)
        n_base, n_all = base_counts.get(s.example_id, (0, 0))
        w = split_views(v, n_base, n_all) if v is not None else {"base": False, "base+plus": False}
        runs[s.system][s.run].append((w["base"], w["base+plus"]))
        examples[s.system].add(s.example_id)
        if n_all > n_base or (v is not None and isinstance(v.meta.get("plus"), dict)):
            with_plus[s.system].add(s.example_id)
    out: dict[str, dict[str, Any]] = {}
    for system, by_run in runs.items():
        base = float(np.mean([np.mean([b for b, _ in r]) for r in by_run.values()]))
        plus = float(np.mean([np.mean([p for _, p in r]) for r in by_run.values()]))
        out[system] = {
            "base": base,
            "base_plus": plus,
            "drop_points": 100.0 * (base - plus),
            "examples": len(examples[system]),
            "examples_with_plus": len(with_plus[system]),
            "runs": len(by_run),
        }
    return out
