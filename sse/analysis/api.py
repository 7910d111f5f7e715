"""`analyze(input_dir)`: every figure of the report, as one JSON-ready dict (results.json).

The report renders this dict and recomputes nothing. See docs/statistics.md for
the definitions.
"""

from __future__ import annotations

import math
import platform
import subprocess
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sse.analysis import compare as cmp
from sse.analysis import costs as cst
from sse.analysis import pareto as par
from sse.analysis import stats as st
from sse.analysis.inputs import Inputs, load_inputs
from sse.core.records import VERDICT_STATUSES, Sample

SCHEMA_VERSION = 1
DETERMINISTIC_NOTE = ("deterministic system: one generation copied to every run, so run-to-run variance is zero "
                      "by construction; read the corpus (bootstrap over problems) interval instead")
ORACLE_KINDS = frozenset({"reference"})
ORACLE_NOTE = ("oracle (the corpus's own reference Rust): certifies the tests; shown for reference, left out of "
               "comparisons and frontiers")
VALUE_SCORE_DEFINITION = ("value ratio = (accuracy / dollars per example) of the system divided by the same "
                          "quotient for the baseline, i.e. how many times more correct translations per dollar.")


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


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sse", "numpy", "scipy", "matplotlib", "jinja2", "pyyaml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _git_commit(where: Path) -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def _system_order(inp: Inputs) -> list[str]:
    names = [str(s.get("name")) for s in inp.context.get("systems") or [] if s.get("name")]
    for s in inp.samples:
        if s.system not in names:
            names.append(s.system)
    return names


def choose_baseline(task_baseline: str | None, systems: list[dict[str, Any]]) -> tuple[str | None, str]:
    """task.baseline when it was evaluated; else the most accurate frontier (non-local) system; else the
    most accurate non-reference system. Ties go to the cheaper, then the first listed."""
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
    nonref = [s for s in evaluated if s["kind"] != "reference"]
    if nonref:
        return best(nonref), reason_prefix + "no frontier system: most accurate non-reference system"
    return best(evaluated), reason_prefix + "most accurate system"


def analyze(input_dir: Path, *, resamples: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Compute every statistic of the report from an input folder."""
    inp = load_inputs(Path(input_dir))
    return analyze_inputs(inp, resamples=resamples, seed=seed)


def analyze_inputs(inp: Inputs, *, resamples: int | None = None, seed: int | None = None) -> dict[str, Any]:
    task = inp.task
    B = int(resamples if resamples is not None else task.get("bootstrap_resamples") or st.DEFAULT_RESAMPLES)
    seed = int(seed if seed is not None else task.get("seed") or 0)
    mpph = task.get("machine_price_per_hour")
    mpph = float(mpph) if mpph is not None else None
    warnings: list[str] = []
    meta = inp.systems_meta
    table = cst.table_from_context(inp.context, inp.root)
    names = _system_order(inp)

    # ---- exclusions and the sample grid
    by_sys: dict[str, list[Sample]] = defaultdict(list)
    excluded: dict[str, int] = Counter()
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
    if dupes:
        warnings.append(f"{dupes} duplicate (system, example, run) sample(s) ignored; the first of each kept")
    for name, n in sorted(excluded.items()):
        warnings.append(f"{name}: {n} infra_error sample(s) excluded (harness failure, not a model failure)")

    problems = sorted({s.example_id for ss in by_sys.values() for s in ss})
    pidx = {p: i for i, p in enumerate(problems)}
    level_of: dict[str, int] = {}
    for s in inp.samples:
        level_of.setdefault(s.example_id, int(s.level))
    for eid, ex in inp.examples.items():
        if ex.get("level") is not None:
            level_of[eid] = int(ex["level"])
    P = len(problems)
    evaluated = [n for n in names if by_sys.get(n)]
    S = len(evaluated)

    M = np.full((P, S), np.nan)        # per-problem pass rate
    Cst = np.full((P, S), np.nan)      # per-problem mean dollars
    grids: dict[str, tuple[np.ndarray, list[int]]] = {}
    sys_out: list[dict[str, Any]] = []
    sample_costs: dict[str, list[cst.SampleCost]] = {}
    for j, name in enumerate(evaluated):
        ss = by_sys[name]
        m = dict(meta.get(name, {"name": name}))
        m.setdefault("name", name)
        local = cst.is_local(m) or any(s.cost_source == "machine_time" for s in ss)
        price = cst.system_price(m, table)
        scs = [cst.sample_cost(s, price, local, mpph) for s in ss]
        sample_costs[name] = scs
        runs = sorted({int(s.run) for s in ss})
        ridx = {r: i for i, r in enumerate(runs)}
        X = np.full((P, len(runs)), np.nan)
        D = np.full((P, len(runs)), np.nan)
        for s, c in zip(ss, scs, strict=True):
            X[pidx[s.example_id], ridx[int(s.run)]] = 1.0 if s.passed else 0.0
            if c.dollars is not None:
                D[pidx[s.example_id], ridx[int(s.run)]] = c.dollars
        grids[name] = (X, runs)
        with np.errstate(invalid="ignore"), _quiet():
            M[:, j] = np.nanmean(X, axis=1)
            Cst[:, j] = np.nanmean(D, axis=1)
        det = all(s.deterministic for s in ss)
        has = ~np.isnan(M[:, j])
        run_acc = [float(np.nanmean(X[:, r])) for r in range(len(runs)) if np.any(~np.isnan(X[:, r]))]
        ti = st.t_interval(run_acc)
        first = X[:, 0][~np.isnan(X[:, 0])]
        wi = st.wilson(int(first.sum()), int(first.size))
        counts = np.sum(~np.isnan(X), axis=1)[has]
        passes = np.nansum(X, axis=1)[has]
        max_k = 1 if det else int(counts.max()) if counts.size else 0
        levels: dict[int, dict[str, Any]] = {}
        for lvl in sorted({level_of[p] for p, h in zip(problems, has, strict=True) if h}):
            rows = np.array([level_of[p] == lvl for p in problems]) & has
            levels[lvl] = {"rate": float(M[rows, j].mean()), "problems": int(rows.sum()),
                           "weight": st.LEVEL_WEIGHTS.get(lvl)}
        composite = st.weighted_composite({lv: d["rate"] for lv, d in levels.items()})
        verdicts = Counter(s.status for s in ss)
        verdicts["infra_error"] = excluded.get(name, 0)
        codes = Counter(c for s in ss for c in s.error_codes)
        notes = []
        if det:
            notes.append(DETERMINISTIC_NOTE)
        if len(runs) == 1:
            notes.append("one run: no run-to-run interval; the Wilson and bootstrap intervals are over problems")
        gen_err = sum(1 for s in ss if s.generation_error)
        oracle = bool(m.get("oracle", str(m.get("kind", "")) in ORACLE_KINDS))
        if oracle:
            notes.append(ORACLE_NOTE)
        sys_out.append({
            "name": name, "kind": m.get("kind", "unknown"), "local": local, "deterministic": det, "oracle": oracle,
            "fingerprint": m.get("fingerprint"), "version": m.get("version"),
            "problems": int(has.sum()), "samples": len(ss), "runs": runs,
            "excluded_infra_error": excluded.get(name, 0), "generation_errors": gen_err,
            "accuracy": float(M[has, j].mean()) if has.any() else None,
            "run_accuracies": run_acc,
            "t_interval": ti.to_dict(),
            "wilson_first_run": wi.to_dict(),
            "pass_at_k": {str(k): v for k, v in st.pass_at_k_table(passes, counts, max_k).items()},
            "levels": {str(k): v for k, v in levels.items()},
            "composite": composite,
            "verdicts": {k: int(verdicts.get(k, 0)) for k in VERDICT_STATUSES},
            "error_codes": dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "cost": cst.summarize_costs(scs, ss),
            "latency": cst.summarize_latency(ss),
            "notes": notes,
        })

    # ---- bootstraps (one weight stream, shared by accuracy and cost: resamples are paired)
    if S:
        both = st.bootstrap_means(np.hstack([M, Cst]), B, seed)
        boot_acc, boot_cost = both[:, :S], both[:, S:]
    else:
        boot_acc = boot_cost = np.zeros((0, 0))
    clusters = st.cluster_bootstrap_many([grids[n][0] for n in evaluated], B, seed + 1)
    for j, so in enumerate(sys_out):
        X, runs = grids[so["name"]]
        so["bootstrap_interval"] = st.percentile_interval(
            boot_acc[:, j], so["accuracy"] if so["accuracy"] is not None else math.nan,
            method=f"bootstrap over problems, {B} resamples, percentile").to_dict()
        cl = clusters[j] if len(runs) > 1 else boot_acc[:, j]
        so["cluster_interval"] = st.percentile_interval(
            cl, so["accuracy"] if so["accuracy"] is not None else math.nan,
            method=f"cluster bootstrap over problems x runs, {B} resamples",
            note="one run: equals the problem bootstrap" if len(runs) == 1 else "").to_dict()

    # ---- baseline and comparisons
    baseline, baseline_reason = choose_baseline(task.get("baseline"), sys_out)
    comparisons: list[dict[str, Any]] = []
    if baseline is not None:
        jb = evaluated.index(baseline)
        Xb, runs_b = grids[baseline]
        for j, so in enumerate(sys_out):
            if so["name"] == baseline or so["oracle"]:
                continue
            shared = ~np.isnan(M[:, j]) & ~np.isnan(M[:, jb])
            a, b = M[shared, j], M[shared, jb]
            wins, losses, p_sign = cmp.sign_test(a, b)
            diff = float(a.mean() - b.mean()) if a.size else math.nan
            if a.size and shared.all():
                # every problem shared: the joint bootstrap is already paired, reuse it
                di = st.percentile_interval(boot_acc[:, j] - boot_acc[:, jb], diff,
                                            method="paired bootstrap over problems")
            elif a.size:
                bd = st.bootstrap_means(np.column_stack([a, b]), B, seed + 2)
                di = st.percentile_interval(bd[:, 0] - bd[:, 1], diff, method="paired bootstrap over problems")
            else:
                di = st.Interval(math.nan, math.nan, math.nan, "paired bootstrap over problems", "no shared problems")
            Xa, runs_a = grids[so["name"]]
            ra = [float(np.nanmean(Xa[shared, r])) for r in range(len(runs_a))] if a.size else []
            rb = [float(np.nanmean(Xb[shared, r])) for r in range(len(runs_b))] if a.size else []
            welch = cmp.welch_t(ra, rb)
            paired = (math.nan, math.nan, math.nan)
            pairs_runs = runs_a == runs_b and len(runs_a) >= 2
            if pairs_runs:
                paired = cmp.paired_t(ra, rb)
            notes = []
            if so["deterministic"] or sys_out[jb]["deterministic"]:
                notes.append("a deterministic system's runs are copies: run-level t tests are not informative")
            comparisons.append({
                "system": so["name"], "baseline": baseline, "shared_problems": int(shared.sum()),
                "accuracy": float(a.mean()) if a.size else None,
                "baseline_accuracy": float(b.mean()) if b.size else None,
                "difference": di.to_dict(),
                "sign_test": {"system_better": wins, "baseline_better": losses, "p": p_sign,
                              "test": "McNemar exact" if len(runs_a) == 1 and len(runs_b) == 1
                              else "exact sign test on per-problem pass rates"},
                "welch": {"t": welch[0], "df": welch[1], "p": welch[2], "runs": [len(ra), len(rb)]},
                "paired_t": {"t": paired[0], "df": paired[1], "p": paired[2], "applies": pairs_runs},
                "cohens_d": cmp.cohens_d(a, b) if a.size else None,
                "notes": notes,
            })
        adj = cmp.holm([c["sign_test"]["p"] for c in comparisons])
        for c, pa in zip(comparisons, adj, strict=True):
            c["sign_test"]["p_holm"] = pa
            c["sign_test"]["significant_0_05"] = bool(pa is not None and not math.isnan(pa) and pa < 0.05)

    pareto = _pareto_section(sys_out, evaluated, boot_acc, boot_cost, baseline, comparisons, warnings)

    unpriced = [s["name"] for s in sys_out if s["cost"]["status"] == "unpriced"]
    for n in unpriced:
        warnings.append(f"{n}: unpriced (no provider cost, no price, not local): left out of cost frontiers")
    skipped = [{"name": s.get("name"), "reason": s.get("skipped_reason")} for s in inp.context.get("systems") or []
               if s.get("skipped_reason") or (s.get("name") and s.get("name") not in by_sys)]
    manifest = dict(inp.context.get("manifest") or {})
    manifest.update({
        "analysis_versions": _versions(),
        "report_git_commit": _git_commit(Path(__file__).resolve().parent),
        "seeds": {"bootstrap": seed, "cluster_bootstrap": seed + 1, "paired_bootstrap": seed + 2},
        "bootstrap_resamples": B,
        "price_table": {"path": table.path if table else None, "dates": table.dates if table else []},
        "corpus": inp.context.get("corpus"),
        "models": [{"name": s.get("name"), "fingerprint": s.get("fingerprint"), "version": s.get("version")}
                   for s in inp.context.get("systems") or []],
    })
    return _clean({
        "schema": SCHEMA_VERSION,
        "task": {k: task.get(k) for k in ("id", "description", "runs", "baseline", "machine_price_per_hour",
                                          "seed", "decoding") if k in task},
        "problems": P,
        "levels_present": sorted({level_of[p] for p in problems}),
        "level_weights": {str(k): v for k, v in st.LEVEL_WEIGHTS.items()},
        "warnings": warnings,
        "excluded": dict(excluded),
        "skipped": skipped,
        "systems": sys_out,
        "baseline": baseline,
        "baseline_reason": baseline_reason,
        "comparisons": comparisons,
        "pareto": pareto,
        "value_score_definition": VALUE_SCORE_DEFINITION,
        "manifest": manifest,
    })


class _quiet:
    """Silence numpy's 'mean of empty slice' for rows without data (they are NaN by design)."""

    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


def _pareto_section(sys_out: list[dict[str, Any]], evaluated: list[str], boot_acc: np.ndarray,
                    boot_cost: np.ndarray, baseline: str | None, comparisons: list[dict[str, Any]],
                    warnings: list[str]) -> dict[str, Any]:
    priced = [j for j, s in enumerate(sys_out) if s["cost"]["per_example"] is not None and s["accuracy"] is not None
              and (not s["oracle"] or s["name"] == baseline)]
    names = [sys_out[j]["name"] for j in priced]
    acc = np.array([sys_out[j]["accuracy"] for j in priced], float)
    cost = np.array([sys_out[j]["cost"]["per_example"] for j in priced], float)
    p99 = np.array([sys_out[j]["latency"]["p99_s"] if sys_out[j]["latency"]["p99_s"] is not None else np.inf
                    for j in priced], float)
    out: dict[str, Any] = {"systems": names, "non_dominated_acc_cost": [], "non_dominated_acc_cost_p99": [],
                           "convex_frontier": [], "mixes": [], "frontier_probability": {}, "tradeoffs": []}
    if not priced:
        return out
    nd2 = par.pareto_2d(acc, cost)
    nd3 = par.pareto_nd(np.column_stack([acc, cost, p99]), np.array([True, False, False]))
    hull = par.convex_frontier(acc, cost)
    out["non_dominated_acc_cost"] = [n for n, k in zip(names, nd2, strict=True) if k]
    out["non_dominated_acc_cost_p99"] = [n for n, k in zip(names, nd3, strict=True) if k]
    order = np.lexsort((acc, cost))
    out["convex_frontier"] = [names[i] for i in order if hull[i]]
    out["frontier_points"] = [{"name": names[i], "cost": cost[i], "accuracy": acc[i]} for i in order if hull[i]]
    for i in range(len(names)):
        if hull[i]:
            continue
        mx = par.beating_mix(acc, cost, hull, i)
        if mx is None:
            continue
        out["mixes"].append({"dominated": names[i], "low": names[mx.low], "high": names[mx.high],
                             "p_high": mx.p, "cost": mx.cost, "accuracy": mx.acc,
                             "accuracy_gain": mx.acc - acc[i], "cost_saving": cost[i] - mx.cost})
    ba = boot_acc[:, priced]
    bc = boot_cost[:, priced]
    prob = par.frontier_probability(ba, bc)
    out["frontier_probability"] = {n: float(p) for n, p in zip(names, prob, strict=True)}
    out["frontier_probability_resamples"] = int(ba.shape[0])
    if baseline is not None:
        b = next(s for s in sys_out if s["name"] == baseline)
        bcost = b["cost"]["per_example"]
        byname = {c["system"]: c for c in comparisons}
        for s in sys_out:
            if s["name"] == baseline or s["oracle"]:
                continue
            c = byname.get(s["name"])
            sc = s["cost"]["per_example"]
            ratio = sc / bcost if sc is not None and bcost else None
            lat = s["latency"]
            bl = b["latency"]
            value = None
            if sc and bcost and b["accuracy"]:
                value = (s["accuracy"] / sc) / (b["accuracy"] / bcost)
            out["tradeoffs"].append({
                "system": s["name"], "baseline": baseline,
                "accuracy_gap": c["difference"] if c else None,
                "cost_ratio": ratio,
                "latency_p50_ratio": lat["p50_s"] / bl["p50_s"] if lat["p50_s"] is not None and bl["p50_s"] else None,
                "latency_p99_ratio": lat["p99_s"] / bl["p99_s"] if lat["p99_s"] is not None and bl["p99_s"] else None,
                "value_ratio": value,
            })
    return out
