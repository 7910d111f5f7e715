"""The Pareto section of results.json: non-dominated sets, the convex frontier, mixes, the
probability of being on the frontier, trade-offs against the baseline, and whether the
systems compared on one cost axis are priced on one basis."""

from __future__ import annotations

from typing import Any

import numpy as np

from sse.analysis import pareto as par
from sse.analysis.costs import BASES

MIXING_NOTE = ("The convex frontier mixes systems linearly in dollars: running A with probability 1-p and B with "
               "probability p costs and scores the p-weighted average of the two, so every point of a frontier "
               "segment is reachable (on the log cost axis the segments curve).")


def _basis_warning(names: list[str], bases: dict[str, str]) -> str | None:
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(bases[n], []).append(n)
    if len(groups) < 2:
        return None
    parts = "; ".join(f"{', '.join(ns)} on {b} ({BASES.get(b, 'several bases')})" for b, ns in groups.items())
    return (f"costs on different bases share one frontier: {parts}. The frontier, cost ratios and value "
            "ratios compare these dollars as if they measured the same thing; they do not (list prices are not "
            "bills, and machine time leaves out what the machine does not measure)")


def _tradeoffs(sys_out: list[dict[str, Any]], baseline: str, comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    b = next(s for s in sys_out if s["name"] == baseline)
    bcost = b["cost"]["per_example"]
    byname = {c["system"]: c for c in comparisons}
    out = []
    for s in sys_out:
        if s["name"] == baseline or s["oracle"]:
            continue
        c = byname.get(s["name"])
        sc = s["cost"]["per_example"]
        ratio = sc / bcost if sc is not None and bcost else None
        lat, bl = s["latency"], b["latency"]
        value = None
        if sc and bcost and b["accuracy"]:
            value = (s["accuracy"] / sc) / (b["accuracy"] / bcost)
        out.append({
            "system": s["name"], "baseline": baseline,
            "accuracy_gap": c["difference"] if c else None,
            "cost_ratio": ratio,
            "latency_p50_ratio": lat["p50_s"] / bl["p50_s"] if lat["p50_s"] is not None and bl["p50_s"] else None,
            "latency_p99_ratio": lat["p99_s"] / bl["p99_s"] if lat["p99_s"] is not None and bl["p99_s"] else None,
            "value_ratio": value,
            "bases_differ": ratio is not None and s["cost"]["basis"] != b["cost"]["basis"],
        })
    return out


def pareto_section(sys_out: list[dict[str, Any]], boot_acc: np.ndarray, boot_cost: np.ndarray,
                   baseline: str | None, comparisons: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    """Frontiers over the priced, non-oracle systems (the oracle only when it is the baseline);
    appends the mixed-basis warning to `warnings`."""
    priced = [j for j, s in enumerate(sys_out) if s["cost"]["per_example"] is not None and s["accuracy"] is not None
              and (not s["oracle"] or s["name"] == baseline)]
    names = [sys_out[j]["name"] for j in priced]
    bases = {sys_out[j]["name"]: sys_out[j]["cost"]["basis"] for j in priced}
    basis_warning = _basis_warning(names, bases)
    if basis_warning:
        warnings.append(basis_warning)
    out: dict[str, Any] = {"systems": names, "bases": bases, "mixed_bases": basis_warning is not None,
                           "basis_warning": basis_warning, "mixing_note": MIXING_NOTE,
                           "non_dominated_acc_cost": [], "non_dominated_acc_cost_p99": [],
                           "convex_frontier": [], "mixes": [], "frontier_probability": {}, "tradeoffs": []}
    if not priced:
        return out
    acc = np.array([sys_out[j]["accuracy"] for j in priced], float)
    cost = np.array([sys_out[j]["cost"]["per_example"] for j in priced], float)
    p99 = np.array([sys_out[j]["latency"]["p99_s"] if sys_out[j]["latency"]["p99_s"] is not None else np.inf
                    for j in priced], float)
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
    ba, bc = boot_acc[:, priced], boot_cost[:, priced]
    out["frontier_probability"] = {n: float(p) for n, p in zip(names, par.frontier_probability(ba, bc), strict=True)}
    out["frontier_probability_resamples"] = int(ba.shape[0])
    if baseline is not None:
        out["tradeoffs"] = _tradeoffs(sys_out, baseline, comparisons)
    return out
