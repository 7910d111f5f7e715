"""Base vs base+plus pass@1 per system, like EvalPlus's HumanEval / HumanEval+ columns.

Pure: samples, the verdicts they point at and how many of each example's cases are base cases
in, one row per system out. One verdict per answer is read two ways (`split_views`), so the
plus columns cost no extra compilation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from sse.core.records import Sample, Verdict
from sse.task.corpus.plus import split_views


def base_plus_table(samples: Iterable[Sample], verdicts: Mapping[str, Verdict],
                    base_counts: Mapping[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """system -> {base, base_plus, drop_points, examples, examples_with_plus, runs}.

    `base_counts`: example id -> (base cases, all cases). pass@1 is the mean over runs of the
    per-run pass rate over problems (a sample without a verdict counts as a failure)."""
    runs: dict[str, dict[int, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    examples: dict[str, set[str]] = defaultdict(set)
    with_plus: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        v = verdicts.get(s.verdict_key)
        n_base, n_all = base_counts.get(s.example_id, (0, 0))
        w = split_views(v, n_base, n_all) if v is not None else {"base": False, "base+plus": False}
        runs[s.system][s.run].append((w["base"], w["base+plus"]))
        examples[s.system].add(s.example_id)
        if n_all > n_base or (v is not None and isinstance(v.meta.get("plus"), dict)):
            with_plus[s.system].add(s.example_id)
    out: dict[str, dict[str, Any]] = {}
    for system, by_run in runs.items():
        base = float(np.mean([np.mean([b for b, _ in r]) for r in by_run.values()]))
        plus = float(np.mean([np.mean([p for _, p in r]) for r in by_run.values()]))
        out[system] = {"base": base, "base_plus": plus, "drop_points": 100.0 * (base - plus),
                       "examples": len(examples[system]), "examples_with_plus": len(with_plus[system]),
                       "runs": len(by_run)}
    return out
