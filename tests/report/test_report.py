"""The report renders results.json without recomputing; files, CLI and drill-down pages."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from sse.analysis import analyze
from sse.analysis.synthetic import write_inputs
from sse.cli import report_commands as commands
from sse.core.errors import SseError
from sse.report.render import build_report, ci, money, pct


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    d = write_inputs(tmp_path_factory.mktemp("inputs"), problems=8, runs=3)
    return d, build_report(d, d / "out")


def test_writes_every_output(built: tuple[Path, list[Path]]) -> None:
    d, written = built
    names = {p.name for p in written}
    assert {"results.json", "report.md", "report.html", "pareto.svg"} <= names
    pages = [p for p in written if p.parent.name == "examples"]
    assert len(pages) == 8
    results = json.loads((d / "out" / "results.json").read_text())
    assert results == json.loads(json.dumps(analyze(d), allow_nan=False))  # same seed: same figures


def test_html_is_self_contained_and_shows_results(built: tuple[Path, list[Path]]) -> None:
    d, _ = built
    html = (d / "out" / "report.html").read_text()
    results = json.loads((d / "out" / "results.json").read_text())
    assert "<svg" in html and "<metadata>" not in html
    assert not re.search(r"""(src|href)=["']https?:""", html)
    for s in results["systems"]:  # the figures shown are results.json's, formatted
        assert pct(s["accuracy"]) in html and ci(s["bootstrap_interval"]) in html and money(s["cost"]["per_example"]) in html
    assert "unpriced" in html and "0 by construction" in html and "infra_error" in html
    assert "&lt;span" not in html and "&lt;div" not in html  # no markup escaped by mistake
    assert results["value_score_definition"] in html
    assert "Reproducibility manifest" in html and results["manifest"]["seeds"]["bootstrap"] == 0


def test_example_page_has_python_rust_diagnostics_failing_test(built: tuple[Path, list[Path]]) -> None:
    d, _ = built
    pages = sorted((d / "out" / "examples").glob("*.html"))
    text = "\n".join(p.read_text() for p in pages)
    assert "def weighted_sum_0" in text and "pub fn weighted_sum_0" in text
    assert "error[E0308]: mismatched types" in text and "First failing test" in text
    assert 'href="../report.html#examples"' in pages[0].read_text()


def test_markdown_tables(built: tuple[Path, list[Path]]) -> None:
    d, _ = built
    md = (d / "out" / "report.md").read_text()
    assert "![accuracy vs cost](pareto.svg)" in md and "| system | kind | accuracy |" in md
    assert "## Against the baseline" in md and "Convex frontier" in md


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    commands.register(p.add_subparsers())
    return p


@pytest.mark.parametrize("suffix", [".json", ".md", ".html"])
def test_cli_suffix_picks_output(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_inputs(tmp_path / "in", problems=4, runs=2)
    out = tmp_path / "o" / f"mine{suffix}"
    args = _parser().parse_args(["report", "--input", str(d), "--output", str(out), "--resamples", "300"])
    assert args.func(args) == 0 and out.exists()
    assert capsys.readouterr().out.startswith(f"wrote {out} ")
    others = {".json", ".md", ".html"} - {suffix}
    assert not any((tmp_path / "o" / f"mine{o}").exists() for o in others)
    if suffix != ".json":
        assert (tmp_path / "o" / "mine_examples").is_dir()


def test_cli_bad_suffix_and_missing_input(tmp_path: Path) -> None:
    args = _parser().parse_args(["report", "--input", str(tmp_path), "--output", str(tmp_path / "x.pdf")])
    with pytest.raises(SseError, match=r"--output: unknown output suffix '\.pdf'.*fix"):
        args.func(args)
    args = _parser().parse_args(["report", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "x.md")])
    with pytest.raises(SseError, match="input folder not found"):
        args.func(args)


def test_edge_inputs_still_render(tmp_path: Path) -> None:
    from sse.analysis.synthetic import SynthSystem

    only_unpriced = (SynthSystem("a", "cli", 1.0, False, "unpriced", 1.0), SynthSystem("b", "cli", 0.0, False, "unpriced", 1.0))
    d = write_inputs(tmp_path / "u", problems=3, runs=1, systems=only_unpriced, infra_errors=0)
    build_report(d, tmp_path / "uo", resamples=200)
    html = (tmp_path / "uo" / "report.html").read_text()
    assert "unpriced" in html and "<svg" in html
    single = (SynthSystem("solo", "native", 5.0, True, "machine_time", 0.2),)
    d = write_inputs(tmp_path / "s", problems=1, runs=1, systems=single, infra_errors=0)
    build_report(d, tmp_path / "so", resamples=200)
    # a deterministic system with a missing sample: its t interval is not centred on its accuracy
    d = write_inputs(tmp_path / "m", problems=5, runs=3, systems=single, infra_errors=1)
    build_report(d, tmp_path / "so", resamples=200)
    r = json.loads((tmp_path / "so" / "results.json").read_text())
    assert r["baseline"] == "solo" and r["comparisons"] == [] and r["pareto"]["convex_frontier"] == ["solo"]
    assert r["systems"][0]["excluded_infra_error"] == 1


def test_precomputed_results_are_rendered_as_given(tmp_path: Path) -> None:
    d = write_inputs(tmp_path / "in", problems=4, runs=2)
    results = analyze(d, resamples=300)
    results["systems"][0]["accuracy"] = 0.123456  # a marker only the given dict carries
    build_report(d, tmp_path / "o", results=results, formats=("html", "json"))
    assert "12.3%" in (tmp_path / "o" / "report.html").read_text()
    assert json.loads((tmp_path / "o" / "results.json").read_text())["systems"][0]["accuracy"] == 0.123456


def test_no_usable_sample_still_reports_every_format(tmp_path: Path) -> None:
    """Every sample an infra_error (or no samples at all): the report says so, lists why, and exits cleanly."""
    from analysis_helpers import write_dir

    infra = {(n, 0, p): "infra_error" for n in ("a", "b") for p in range(2)}
    d = write_dir(tmp_path / "in", {"a": [[1, 0]], "b": [[1, 1]]}, statuses=infra)
    build_report(d, tmp_path / "o", resamples=100)
    r = json.loads((tmp_path / "o" / "results.json").read_text())
    assert r["systems"] == [] and r["baseline"] is None
    assert [s["name"] for s in r["skipped"]] == ["a", "b"]
    assert all(isinstance(s["reason"], str) and "infra_error" in s["reason"] for s in r["skipped"])
    md = (tmp_path / "o" / "report.md").read_text()
    assert "No system has a usable sample" in md and "infra_error" in md
    assert "No system has a usable sample" in (tmp_path / "o" / "report.html").read_text()
    # a system skipped before generating (say, a CLI not installed) has no samples at all
    ctx = json.loads((d / "context.json").read_text())
    ctx["systems"][0]["skipped_reason"] = "CLI not installed"
    (d / "context.json").write_text(json.dumps(ctx))
    (d / "samples.jsonl").write_text("")
    build_report(d, tmp_path / "o2", resamples=100)
    r = json.loads((tmp_path / "o2" / "results.json").read_text())
    reasons = {s["name"]: s["reason"] for s in r["skipped"]}
    assert reasons["a"] == "CLI not installed" and reasons["b"] == "no samples recorded"
    assert "CLI not installed" in (tmp_path / "o2" / "report.md").read_text()


def test_markdown_leads_with_problem_sampling_and_explains_mixing(built: tuple[Path, list[Path]]) -> None:
    d, _ = built
    md = (d / "out" / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| system | kind | accuracy |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[3] == "95% interval (problems x runs)" and "run-to-run noise" in cols[4]
    assert "linearly in dollars" in md


def test_plot_thick_bar_is_the_headline_interval(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from sse.report.plot import render_figure

    d = write_inputs(tmp_path / "in", problems=8, runs=3)
    r = json.loads(json.dumps(analyze(d, resamples=300)))
    fig = render_figure(r)
    thick = sorted(tuple(round(y, 6) for y in seg[:, 1]) for c in fig.axes[0].collections
                   if hasattr(c, "get_segments") and c.get_linewidths().size and c.get_linewidths()[0] > 2
                   for seg in c.get_segments())
    plt.close(fig)
    by = {s["name"]: s for s in r["systems"]}
    want = sorted((round(by[n]["interval"]["lo"] * 100, 6), round(by[n]["interval"]["hi"] * 100, 6))
                  for n in r["pareto"]["systems"])
    assert thick == want
