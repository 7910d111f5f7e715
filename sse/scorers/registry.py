"""Scorers keyed by ground-truth type: `compiler` (function tests compiled with the candidate)
and `program` (the example's own pytest suite run against the binary), plus any type another
package declares under the `sse.scorers` entry point (name = type, value = module:function).

A scorer takes VerifyRequests that all have code and returns their Verdicts in order. Nothing
registers itself on import: built-in scorers are named here and imported when first asked,
entry points are read once, and `register_scorer` (tests, plug-ins) overrides both.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from sse.core.errors import ConfigError
from sse.core.records import Verdict

Scorer = Callable[[Sequence[Any]], list[Verdict]]
ENTRY_POINT_GROUP = "sse.scorers"
BUILTIN_SCORERS: dict[str, str] = {
    "compiler": "sse.scorers.api:judge_functions",
    "program": "sse.scorers.programs:program_judge",
}
_REGISTERED: dict[str, Scorer] = {}
_LOADED: dict[str, Scorer] = {}


def register_scorer(gt_type: str, scorer: Scorer) -> None:
    """Judge requests of this ground-truth type with `scorer` (replaces a built-in or plug-in one)."""
    _REGISTERED[gt_type] = scorer


def unregister_scorer(gt_type: str) -> None:
    _REGISTERED.pop(gt_type, None)


def _plugins() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(ref: str) -> Scorer:
    mod, _, attr = ref.partition(":")
    return getattr(importlib.import_module(mod), attr)  # type: ignore[no-any-return]


def scorer_types() -> list[str]:
    return sorted({*BUILTIN_SCORERS, *_plugins(), *_REGISTERED})


def scorer_for(gt_type: str) -> Scorer:
    """The scorer of a ground-truth type: registered, else built in, else from an entry point."""
    if gt_type in _REGISTERED:
        return _REGISTERED[gt_type]
    if gt_type not in _LOADED:
        ref = BUILTIN_SCORERS.get(gt_type) or _plugins().get(gt_type)
        if ref is None:
            raise ConfigError(
                f"no scorer for ground truth type {gt_type!r}",
                field="ground_truth.type",
                fix=f"use one of {', '.join(scorer_types())}, or install the package that adds it",
            )
        _LOADED[gt_type] = _load(ref)
    return _LOADED[gt_type]


def scorer_key(request: Any) -> str:
    """Which scorer judges a request: the task's ground-truth type, except that a program
    example always brings its own suite (it has no function tests to compile)."""
    return "program" if request.example.kind == "program" else str(request.ground_truth.type)
