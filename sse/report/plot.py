"""The Pareto plot: accuracy vs dollars per example (log axis), drawn from results.json only."""

from __future__ import annotations

import io
import math
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f"]


def _mix_curve(c0: float, a0: float, c1: float, a1: float, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Mixing is linear in dollars, so on a log axis the segment between two systems is a curve."""
    p = np.linspace(0.0, 1.0, n)
    return c0 + p * (c1 - c0), a0 + p * (a1 - a0)


def pareto_svg(results: dict[str, Any]) -> str:
    """SVG text of the plot (deterministic: fixed hashsalt, no dates)."""
    plt.rcParams["svg.hashsalt"] = "sse"
    plt.rcParams["svg.fonttype"] = "none"
    fig = render_figure(results)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg[svg.index("<svg"):], flags=re.S)  # RDF boilerplate
    return svg


def render_figure(results: dict[str, Any]):  # -> matplotlib.figure.Figure
    systems = {s["name"]: s for s in results["systems"]}
    par = results["pareto"]
    names = par["systems"]
    fig, ax = plt.subplots(figsize=(8.2, 5.2), dpi=100)
    costs = [systems[n]["cost"]["per_example"] for n in names]
    positive = [c for c in costs if c and c > 0]
    floor = (min(positive) / 10) if positive else 1e-6

    def x(c: float) -> float:
        return c if c > 0 else floor

    frontier = set(par["convex_frontier"])
    for i, n in enumerate(names):
        s = systems[n]
        col = _COLORS[i % len(_COLORS)]
        cx, acc = x(costs[i]), s["accuracy"] * 100
        head = s["interval"]  # includes problem sampling: the interval to read, drawn thick
        t = s["t_interval"]  # run-to-run noise only, drawn thin
        # intervals are drawn as [lo, hi] spans (centred on their midpoint): the t interval is centred on
        # the mean of run accuracies, which differs from the problem-weighted accuracy when samples are missing
        if head["lo"] is not None and head["hi"] is not None:
            ax.errorbar([cx / 1.06], [(head["lo"] + head["hi"]) * 50], yerr=[(head["hi"] - head["lo"]) * 50],
                        fmt="none", ecolor=col, elinewidth=2.4, capsize=0, alpha=0.9)
        if t["lo"] is not None and t["hi"] is not None and not s["deterministic"]:
            ax.errorbar([cx * 1.06], [(t["lo"] + t["hi"]) * 50], yerr=[(t["hi"] - t["lo"]) * 50], fmt="none",
                        ecolor=col, elinewidth=1.0, capsize=4, alpha=0.9, linestyle="--")
        ax.scatter([cx], [acc], s=90 if n in frontier else 60, color=col, zorder=5,
                   edgecolor="black" if n in frontier else "white", linewidth=1.2,
                   marker="o" if n in frontier else "s")
        label = n + (" ($0 shown at axis floor)" if costs[i] <= 0 else "")
        ax.annotate(label, (cx, acc), textcoords="offset points", xytext=(8, 6), fontsize=9, color="#222")
    pts = par.get("frontier_points") or []
    for p0, p1 in zip(pts, pts[1:], strict=False):
        xs, ys = _mix_curve(x(p0["cost"]), p0["accuracy"] * 100, x(p1["cost"]), p1["accuracy"] * 100)
        ax.plot(xs, ys, color="black", linewidth=1.4, zorder=3)
    if len(pts) == 1:
        ax.axhline(pts[0]["accuracy"] * 100, color="black", linewidth=0.6, linestyle=":")
    for m in par.get("mixes") or []:
        d = systems[m["dominated"]]
        dc = x(d["cost"]["per_example"])
        ax.scatter([x(m["cost"])], [m["accuracy"] * 100], s=70, facecolor="none", edgecolor="black", zorder=6,
                   marker="D")
        ax.annotate("", xy=(x(m["cost"]), m["accuracy"] * 100), xytext=(dc, d["accuracy"] * 100),
                    arrowprops={"arrowstyle": "->", "color": "#555", "linestyle": ":", "linewidth": 1})
    ax.set_xscale("log")
    ax.set_xlabel("dollars per example (log scale)")
    ax.set_ylabel("accuracy, % of problems passing")
    ax.set_ylim(-3, 105)
    if positive or costs:
        lo = min(x(c) for c in costs) / 3
        hi = max(x(c) for c in costs) * 4
        if math.isfinite(lo) and math.isfinite(hi) and lo > 0:
            ax.set_xlim(lo, hi)
    ax.grid(True, which="major", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="black", linewidth=1.4, label="convex frontier (random mixes of two systems)"),
        Line2D([], [], color="gray", linewidth=2.4, label="95% interval incl. problem sampling (problems x runs)"),
        Line2D([], [], color="gray", linewidth=1.0, linestyle="--", marker="_", markersize=8,
               label="run-to-run noise only (95% t over runs)"),
        Line2D([], [], color="none", marker="D", markerfacecolor="none", markeredgecolor="black",
               label="mix that beats a dominated system"),
    ]
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.9)
    unpriced = [s["name"] for s in results["systems"] if s["cost"]["per_example"] is None and not s.get("oracle")]
    oracles = [s["name"] for s in results["systems"] if s.get("oracle") and s["name"] not in names]
    title = f"{results['task'].get('id', 'task')}: accuracy vs cost (mixes are linear in dollars)"
    left_out = ([f"unpriced: {', '.join(unpriced)}"] if unpriced else []) + (
        [f"oracle: {', '.join(oracles)}"] if oracles else [])
    if left_out:
        title += f"\n(not plotted: {'; '.join(left_out)})"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
