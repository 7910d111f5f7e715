"""Statistics, costs and Pareto frontiers over sample records (entry point: `analyze`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sse.core.records import Results


def analyze(input_dir: Path, **kw: Any) -> Results:
    """Every figure of the report for one input folder (see sse.analysis.api)."""
    from sse.analysis.api import analyze as _analyze

    return _analyze(input_dir, **kw)


__all__ = ["analyze"]
