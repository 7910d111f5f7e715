"""Render results.json (from sse.analysis) as report.md, a self-contained report.html and
per-example drill-down pages. Nothing here computes a statistic: figures come from
`analyze`, the drill-down shows the saved records as they are.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2

from sse.analysis.api import analyze_inputs
from sse.analysis.inputs import Inputs, load_inputs
from sse.core.records import VERDICT_STATUSES, Verdict
from sse.core.store import atomic_write_text
from sse.report.plot import pareto_svg

FORMATS = ("json", "md", "html")
_TEMPLATES = Path(__file__).with_name("templates")


# ------------------------------------------------------------------ formatting filters
def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def ci(iv: dict[str, Any] | None, digits: int = 1) -> str:
    if not iv or iv.get("lo") is None or iv.get("hi") is None:
        return "n/a"
    return f"[{100 * iv['lo']:.{digits}f}, {100 * iv['hi']:.{digits}f}]"


def money(x: float | None) -> str:
    if x is None:
        return "unpriced"
    if x == 0:
        return "$0"
    if abs(x) >= 0.01:
        return f"${x:,.4f}"
    digits = min(12, 2 - math.floor(math.log10(abs(x))))  # three significant digits, no exponent
    return "$" + f"{x:.{digits}f}".rstrip("0").rstrip(".")


def num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}"


def pval(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def ratio(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}x"


def pts(x: float | None, digits: int = 1) -> str:
    """Percentage points (a drop already in points)."""
    return "n/a" if x is None else f"{x:.{digits}f}"


def pts_frac(x: float | None, digits: int = 1) -> str:
    """A half-width given as a fraction, in +- points."""
    return "n/a" if x is None or not math.isfinite(x) else f"±{100 * x:.{digits}f}"


def slug(example_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", example_id)[:120] or "example"


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=jinja2.select_autoescape(
        ["html", "j2"]), undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, ci=ci, money=money, num=num, pval=pval, ratio=ratio, slug=slug, pts=pts,
                       pts_frac=pts_frac)
    return env


@functools.cache
def _md_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, ci=ci, money=money, num=num, pval=pval, ratio=ratio, slug=slug, pts=pts,
                       pts_frac=pts_frac)
    return env


# ------------------------------------------------------------------ drill-down view (no statistics)
def drilldown(inp: Inputs, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per example: the Python, and per system the distinct Rust outputs with their verdicts."""
    order = [s["name"] for s in results["systems"]]
    by_ex: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for s in inp.samples:
        by_ex[s.example_id][s.system].append(s)
    out = []
    for eid in sorted(by_ex):
        ex = inp.examples.get(eid, {})
        systems = []
        for name in order + sorted(set(by_ex[eid]) - set(order)):
            ss = sorted(by_ex[eid].get(name, []), key=lambda s: s.run)
            if not ss:
                continue
            groups: dict[tuple[str, str], dict[str, Any]] = {}
            for s in ss:
                g = groups.setdefault((s.rust_key, s.verdict_key), {
                    "runs": [], "status": s.status, "rust": inp.sources.get(s.rust_key, "") if s.rust_key else "",
                    "verdict": inp.verdicts.get(s.verdict_key) or Verdict(
                        status=s.status, diagnostics=s.generation_error or "").to_dict(),
                    "error_codes": list(s.error_codes),
                    "tests_passed": s.tests_passed, "tests_total": s.tests_total,
                    "generation_error": s.generation_error,
                    "raw": (inp.completions.get(s.completion_key) or {}).get("text", "") if not s.rust_key else "",
                })
                g["runs"].append(s.run)
            systems.append({"name": name, "runs": [(s.run, s.status) for s in ss],
                            "passes": sum(1 for s in ss if s.status == "pass"), "n": len(ss),
                            "groups": list(groups.values())})
        out.append({"id": eid, "slug": slug(eid), "level": ex.get("level", ss[0].level if ss else None),
                    "python": ex.get("python", ""), "entry_point": ex.get("entry_point", ""),
                    "rust_signature": ex.get("rust_signature", ""), "tests_total": ex.get("tests_total"),
                    "systems": systems})
    return out


def _verdict_bars(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Widths for the stacked verdict bars: shares of the counts results.json already holds."""
    rows = []
    for s in results["systems"]:
        total = sum(s["verdicts"].values()) or 1
        rows.append({"name": s["name"], "parts": [(k, v, 100.0 * v / total) for k, v in s["verdicts"].items() if v]})
    return rows


def render_html(results: dict[str, Any], examples: list[dict[str, Any]], svg: str, example_dir: str) -> str:
    return _env().get_template("report.html.j2").render(
        r=results, svg=svg, examples=examples, example_dir=example_dir, bars=_verdict_bars(results),
        statuses=VERDICT_STATUSES,
        codes=sorted({c for s in results["systems"] for c in s["error_codes"]}),
        manifest_json=json.dumps(results["manifest"], indent=1, sort_keys=True))


def render_example(results: dict[str, Any], ex: dict[str, Any], back: str) -> str:
    return _env().get_template("example.html.j2").render(r=results, ex=ex, back=back)


def render_markdown(results: dict[str, Any], plot_file: str | None, example_dir: str | None) -> str:
    return _md_env().get_template("report.md.j2").render(
        r=results, plot_file=plot_file, example_dir=example_dir, statuses=VERDICT_STATUSES,
        codes=sorted({c for s in results["systems"] for c in s["error_codes"]}),
        manifest_json=json.dumps(results["manifest"], indent=1, sort_keys=True))


def build_report(input_dir: Path, output_dir: Path, *, formats: tuple[str, ...] = FORMATS,
                 stem: str | None = None, resamples: int | None = None,
                 results: dict[str, Any] | None = None) -> list[Path]:
    """Analyze `input_dir` and write results.json, report.md, report.html (+ pareto.svg and
    examples/*.html) into `output_dir`. Returns the paths written. Pass `results` (what
    `analyze(input_dir)` returned) to render without analysing again."""
    inp = load_inputs(Path(input_dir))
    if results is None:
        results = analyze_inputs(inp, resamples=resamples)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names = {"json": "results.json", "md": "report.md", "html": "report.html"}
    if stem:
        names = {"json": f"{stem}.json", "md": f"{stem}.md", "html": f"{stem}.html"}
    ex_dir = f"{stem or 'report'}_examples" if stem else "examples"
    if "json" in formats:
        p = out / names["json"]
        atomic_write_text(p, json.dumps(results, indent=1, sort_keys=False, allow_nan=False) + "\n")
        written.append(p)
    need_pages = "html" in formats or "md" in formats
    svg = pareto_svg(results) if ("html" in formats or "md" in formats) else ""
    examples = drilldown(inp, results) if need_pages else []
    if need_pages:
        for ex in examples:
            p = out / ex_dir / f"{ex['slug']}.html"
            atomic_write_text(p, render_example(results, ex, back=f"../{names['html']}" if "html" in formats else ""))
            written.append(p)
    if "md" in formats:
        plot = out / f"{stem or 'pareto'}{'_pareto' if stem else ''}.svg"
        atomic_write_text(plot, svg)
        written.append(plot)
        p = out / names["md"]
        atomic_write_text(p, render_markdown(results, plot.name, ex_dir))
        written.append(p)
    if "html" in formats:
        p = out / names["html"]
        atomic_write_text(p, render_html(results, examples, svg, ex_dir))
        written.append(p)
    return written
