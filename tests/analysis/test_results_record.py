"""The Results record names every key of results.json, in the order analyze() writes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import get_type_hints

from sse.analysis import analyze
from sse.core.records import Results


def test_results_record_names_every_key_in_order(make_dir: Callable[..., Path]) -> None:
    r = analyze(make_dir({"a": [[1, 0, 1]] * 2, "b": [[0, 0, 1]] * 2}, task={"baseline": "a"}))
    assert list(r) == list(get_type_hints(Results))
    assert json.loads(json.dumps(r)) == r  # already JSON: the record is the file
