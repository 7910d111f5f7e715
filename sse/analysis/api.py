"""`analyze(input_dir)`: every figure of the report, as one JSON-ready dict (results.json).

The report renders this dict and recomputes nothing. See docs/statistics.md for
the definitions.
"""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import Any, cast

import numpy as np

from sse.analysis import compare as cmp
from sse.analysis import costs as cst
from sse.analysis import stats as st
from sse.analysis.figures import SystemFigures, attach_intervals, system_figures
from sse.analysis.frontier import pareto_section
from sse.analysis.grid import sample_grid, skipped_systems, system_order
from sse.analysis.inputs import Inputs, load_inputs
from sse.analysis.plus_views import plus_section
from sse.core.provenance import git_commit, package_versions
from sse.core.records import Results

SCHEMA_VERSION = 1
VALUE_SCORE_DEFINITION = (
    "value ratio = (accuracy / dollars per example) of the system divided by the same "
    "quotient for the baseline, i.e. how many times more correct translations per dollar."
)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (np.floating, float)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        **package_versions(("sse", "numpy", "scipy", "matplotlib", "jinja2", "pyyaml"), "not installed"),
    }


def choose_baseline(task_baseline: str | None, systems: list[dict[str, Any]]) -> tuple[str | None, str]:
    """task.baseline when it was evaluated; else the most accurate frontier (non-local) system; else the
    most accurate non-oracle system. Ties go to the cheaper, then the first listed."""
    evaluated = [s for s in systems if s["accuracy"] is not None and not s.get("oracle")]
    if not evaluated:
        evaluated = [s for s in systems if s["accuracy"] is not None]
    names = {s["name"] for s in evaluated}
    if task_baseline:
        if task_baseline in names:
            return task_baseline, "task analysis.baseline"
        reason_prefix = f"task baseline {task_baseline!r} has no samples; "
    else:
        reason_prefix = ""

    def best(pool: list[dict[str, Any]]) -> str | None:
        if not pool:
            return None

        def key(s: dict[str, Any]) -> tuple[float, float]:
            c = s["cost"]["per_example"]
            return (-s["accuracy"], c if c is not None else math.inf)

        return min(pool, key=key)["name"]

    frontier = [s for s in evaluated if not s["local"]]
    if frontier:
        return best(frontier), reason_prefix + "most accurate frontier (non-local) system"
    nonref = [s for s in evaluated if not s["oracle"]]
    if nonref:
        return best(nonref), reason_prefix + "no frontier system: most accurate non-oracle system"
    return best(evaluated), reason_prefix + "most accurate system"


def analyze(input_dir: Path, *, resamples: int | None = None, seed: int | None = None) -> Results:
    """Compute every statistic of the report from an input folder."""
    inp = load_inputs(Path(input_dir))
    return analyze_inputs(inp, resamples=resamples, seed=seed)


def analyze_inputs(inp: Inputs, *, resamples: int | None = None, seed: int | None = None) -> Results:
    task = inp.task
    B = int(resamples if resamples is not None else task.get("bootstrap_resamples") or st.DEFAULT_RESAMPLES)
    if seed is None:  # analysis.seed; contexts written before it existed have only the evaluation seed
        seed = task.get("analysis_seed", task.get("seed"))
    seed = int(seed or 0)
    table = cst.table_from_context(inp.context, inp.root)
    grid = sample_grid(inp)
    warnings = grid.warnings()
    evaluated = [n for n in system_order(inp) if grid.by_sys.get(n)]
    figs = [
        system_figures(n, grid.by_sys[n], inp.systems_meta.get(n, {"name": n}), grid, task, table)
        for n in evaluated
    ]
    sys_out = [f.row for f in figs]
    boot_acc, boot_cost = _bootstraps(figs, len(grid.problems), B, seed)
    clusters = st.cluster_bootstrap_many([f.passes for f in figs], B, seed + 1)
    for j, f in enumerate(figs):
        attach_intervals(f.row, f.runs, boot_acc[:, j], clusters[j], B)

    baseline, baseline_reason = choose_baseline(task.get("baseline"), sys_out)
    comparisons: list[dict[str, Any]] = []
    if baseline is not None:
        rates = np.column_stack([f.rate for f in figs])
        comparisons = cmp.compare_to_baseline(
            sys_out, [f.passes for f in figs], rates, boot_acc, baseline, B, seed + 2
        )
    pareto = pareto_section(sys_out, boot_acc, boot_cost, baseline, comparisons, warnings)
    warnings.extend(_cost_warnings(sys_out))
    skipped = skipped_systems(inp, grid)
    if not sys_out:
        warnings.append("no system has a usable sample: nothing to compare (see the skipped systems)")
    return cast(
        Results,
        _clean(
            {
                "schema": SCHEMA_VERSION,
                "task": {
                    k: task.get(k)
                    for k in (
                        "id",
                        "description",
                        "runs",
                        "baseline",
                        "machine_price_per_hour",
                        "local_cost_basis",
                        "seed",
                        "decoding",
                    )
                    if k in task
                },
                "problems": len(grid.problems),
                "levels_present": sorted({grid.level_of[p] for p in grid.problems}),
                "level_weights": {str(k): v for k, v in st.LEVEL_WEIGHTS.items()},
                "warnings": warnings,
                "excluded": dict(grid.excluded),
                "skipped": skipped,
                "systems": sys_out,
                "baseline": baseline,
                "baseline_reason": baseline_reason,
                "comparisons": comparisons,
                "pareto": pareto,
                "value_score_definition": VALUE_SCORE_DEFINITION,
                "plus": plus_section(grid, figs, B, seed + 3),
                "runs_rule": inp.context.get("runs_rule"),
                "program_suites": inp.context.get("program_suites"),
                "manifest": _manifest(inp, table, seed, B),
            }
        ),
    )


def _bootstraps(
    figs: list[SystemFigures], n_problems: int, B: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One weight stream shared by accuracy and cost, so the resamples are paired across both."""
    if not figs:
        return np.zeros((0, 0)), np.zeros((0, 0))
    S = len(figs)
    both = st.bootstrap_means(np.column_stack([f.rate for f in figs] + [f.cost for f in figs]), B, seed)
    return both[:, :S], both[:, S:]


def _cost_warnings(sys_out: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in sys_out:
        c = s["cost"]
        if c["status"] == "unpriced":
            out.append(f"{s['name']}: unpriced on its basis ({c['basis']}): left out of cost frontiers")
        elif c["status"] == "partial":
            out.append(
                f"{s['name']}: {c['samples'] - c['priced_samples']} of {c['samples']} sample(s) could not "
                f"be priced on its basis ({c['basis']}); its cost is the mean of the rest"
            )
    return out


def _manifest(inp: Inputs, table: cst.PriceTable | None, seed: int, B: int) -> dict[str, Any]:
    manifest = dict(inp.context.get("manifest") or {})
    manifest.update(
        {
            "analysis_versions": _versions(),
            "report_git_commit": git_commit(Path(__file__).resolve().parent),
            "seeds": {
                "bootstrap": seed,
                "cluster_bootstrap": seed + 1,
                "paired_bootstrap": seed + 2,
                "plus_bootstrap": seed + 3,
            },
            "bootstrap_resamples": B,
            "price_table": {"path": table.path if table else None, "dates": table.dates if table else []},
            "corpus": inp.context.get("corpus"),
            "models": [
                {"name": s.get("name"), "fingerprint": s.get("fingerprint"), "version": s.get("version")}
                for s in inp.context.get("systems") or []
            ],
        }
    )
    return manifest
