"""Fixtures building tiny input folders from hand-written outcome grids (analysis_helpers.write_dir)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from analysis_helpers import write_dir


@pytest.fixture
def make_dir(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def _make(grids: dict[str, list[list[int]]], **kw: Any) -> Path:
        return write_dir(tmp_path / f"in{next(counter)}", grids, **kw)

    return _make
