"""Markdown, HTML and JSON reports rendered from sse.analysis results (entry point: `build_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_report(input_dir: Path, output_dir: Path, **kw: Any) -> list[Path]:
    """Analyze `input_dir` and write results.json, report.md, report.html and drill-down pages."""
    from sse.report.render import build_report as _build

    return _build(input_dir, output_dir, **kw)


__all__ = ["build_report"]
