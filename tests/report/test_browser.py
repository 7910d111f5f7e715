"""Open report.html in headless Chromium: the plot renders and the console stays clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.analysis.synthetic import write_inputs
from sse.report.browser import check_page, find_browser
from sse.report.render import build_report

pytestmark = pytest.mark.skipif(find_browser() is None,
                                reason="chromium + chromedriver not installed (apt install chromium chromium-driver)")


def _png_is_not_blank(path: Path) -> bool:
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))
    return img.shape[0] > 500 and float(img[..., :3].std()) > 0.05


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    d = write_inputs(tmp_path / "in", problems=6, runs=3)
    build_report(d, tmp_path / "out", resamples=500)
    shot = tmp_path / "report.png"
    page = check_page(tmp_path / "out" / "report.html", shot)
    assert page.console_errors == [], page.console_errors
    f = page.facts
    assert f["svg"] and f["svg_width"] > 400 and f["svg_height"] > 250 and f["svg_paths"] > 20
    assert f["rows"] == 7 and "Accuracy vs cost" in f["text"]
    assert _png_is_not_blank(shot)
    ex = sorted((tmp_path / "out" / "examples").glob("*.html"))[0]
    page = check_page(ex, tmp_path / "example.png", height=1400,
                      script="return {h1: document.querySelector('h1').textContent, pre: document.querySelectorAll('pre').length}")
    assert page.console_errors == [] and page.facts["pre"] >= 2
