"""One system's figures: accuracy and its intervals, pass@k, levels, verdicts, cost, latency.

See docs/statistics.md for the definitions. The interval shown first (`interval`)
includes problem sampling; the Student-t interval over runs is kept and labelled
as run-to-run noise only.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from sse.analysis import costs as cst
from sse.analysis import stats as st
from sse.analysis.grid import Grid
from sse.core.records import VERDICT_STATUSES, Sample

DETERMINISTIC_NOTE = ("deterministic system: one generation copied to every run, so run-to-run variance is zero "
                      "by construction; its interval is the bootstrap over problems of the one distinct run")
ORACLE_KINDS = frozenset({"reference"})  # only for older inputs without the `oracle` field
ORACLE_NOTE = ("oracle (the corpus's own reference Rust): certifies the tests; shown for reference, left out of "
               "comparisons and frontiers")
RUN_NOISE_LABEL = "run-to-run noise only (Student-t over run accuracies; the problems held fixed)"
COPIES_NOTE = "runs are copies of one generation: this re-samples copies only; read `interval` instead"


@dataclass
class SystemFigures:
    row: dict[str, Any]
    passes: np.ndarray  # problems x runs, 1/0, NaN where no sample
    dollars: np.ndarray  # problems x runs, NaN where no sample or unpriced
    runs: list[int]

    @property
    def rate(self) -> np.ndarray:
        """Per-problem pass rate (NaN for problems without samples)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows without data are NaN by design
            return np.nanmean(self.passes, axis=1)

    @property
    def cost(self) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.dollars, axis=1)


def is_oracle(meta: dict[str, Any]) -> bool:
    """The declared `oracle` field; for older inputs, the kinds that were oracles."""
    if meta.get("oracle") is not None:
        return bool(meta["oracle"])
    return str(meta.get("kind", "")) in ORACLE_KINDS


def _levels(grid: Grid, rate: np.ndarray) -> dict[int, dict[str, Any]]:
    has = ~np.isnan(rate)
    levels: dict[int, dict[str, Any]] = {}
    for lvl in sorted({grid.level_of[p] for p, h in zip(grid.problems, has, strict=True) if h}):
        rows = np.array([grid.level_of[p] == lvl for p in grid.problems]) & has
        levels[lvl] = {"rate": float(rate[rows].mean()), "problems": int(rows.sum()),
                       "weight": st.LEVEL_WEIGHTS.get(lvl)}
    return levels


def system_figures(name: str, ss: list[Sample], meta: dict[str, Any], grid: Grid, task: dict[str, Any],
                   table: cst.PriceTable | None) -> SystemFigures:
    """Every per-system figure that needs no resampling (the bootstraps are added by `attach_intervals`)."""
    mpph = task.get("machine_price_per_hour")
    mpph = float(mpph) if mpph is not None else None
    local = cst.is_local(meta, ss)
    oracle = is_oracle(meta)
    basis = cst.resolve_basis(meta.get("pricing_basis"), local, oracle, task.get("local_cost_basis"))
    price = cst.system_price(meta, table)
    scs = [cst.sample_cost(s, price, local, mpph, basis) for s in ss]
    X, runs = grid.matrix(ss, [1.0 if s.passed else 0.0 for s in ss])
    D, _ = grid.matrix(ss, [c.dollars for c in scs])
    fig = SystemFigures({}, X, D, runs)
    rate = fig.rate
    det = all(s.deterministic for s in ss)
    has = ~np.isnan(rate)
    run_acc = [float(np.nanmean(X[:, r])) for r in range(len(runs)) if np.any(~np.isnan(X[:, r]))]
    ti = st.t_interval(run_acc).to_dict() | {"label": RUN_NOISE_LABEL}
    first = X[:, 0][~np.isnan(X[:, 0])]
    wi = st.wilson(int(first.sum()), int(first.size))
    counts = np.sum(~np.isnan(X), axis=1)[has]
    passes = np.nansum(X, axis=1)[has]
    max_k = 1 if det else int(counts.max()) if counts.size else 0
    levels = _levels(grid, rate)
    excluded = grid.excluded.get(name, 0)
    verdicts = Counter(s.status for s in ss)
    verdicts["infra_error"] = excluded
    codes = Counter(c for s in ss for c in s.error_codes)
    notes = []
    if det:
        notes.append(DETERMINISTIC_NOTE)
    if len(runs) == 1:
        notes.append("one run: no run-to-run interval; the Wilson and bootstrap intervals are over problems")
    if oracle:
        notes.append(ORACLE_NOTE)
    fig.row = {
        "name": name, "kind": meta.get("kind", "unknown"), "local": local, "deterministic": det, "oracle": oracle,
        "fingerprint": meta.get("fingerprint"), "version": meta.get("version"),
        "problems": int(has.sum()), "samples": len(ss), "runs": runs,
        "excluded_infra_error": excluded, "generation_errors": sum(1 for s in ss if s.generation_error),
        "accuracy": float(rate[has].mean()) if has.any() else None,
        "run_accuracies": run_acc,
        "t_interval": ti,
        "wilson_first_run": wi.to_dict(),
        "pass_at_k": {str(k): v for k, v in st.pass_at_k_table(passes, counts, max_k).items()},
        "levels": {str(k): v for k, v in levels.items()},
        "composite": st.weighted_composite({lv: d["rate"] for lv, d in levels.items()}),
        "verdicts": {k: int(verdicts.get(k, 0)) for k in VERDICT_STATUSES},
        "error_codes": dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "cost": cst.summarize_costs(scs, ss, basis),
        "latency": cst.summarize_latency(ss),
        "notes": notes,
    }
    return fig


def attach_intervals(row: dict[str, Any], runs: list[int], boot: np.ndarray, cluster: np.ndarray, B: int) -> None:
    """Add the problem bootstrap, the cluster bootstrap and the headline `interval` to one system's row.

    The headline includes problem sampling: the cluster bootstrap over problems x runs;
    for a deterministic system (runs are copies) the problem bootstrap over its one
    distinct run; with one run the two coincide."""
    acc = row["accuracy"] if row["accuracy"] is not None else math.nan
    row["bootstrap_interval"] = st.percentile_interval(
        boot, acc, method=f"bootstrap over problems, {B} resamples, percentile").to_dict()
    one = len(runs) == 1
    note = "one run: equals the problem bootstrap" if one else COPIES_NOTE if row["deterministic"] else ""
    row["cluster_interval"] = st.percentile_interval(
        boot if one else cluster, acc, method=f"cluster bootstrap over problems x runs, {B} resamples",
        note=note).to_dict()
    if row["deterministic"]:
        row["interval"] = row["bootstrap_interval"] | {
            "label": "problems (one distinct run)",
            "note": "deterministic: runs are copies of one generation, so only problems are re-sampled"}
    else:
        row["interval"] = row["cluster_interval"] | {"label": "problems (one run)" if one else "problems x runs"}
