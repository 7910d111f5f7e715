"""The graph run with a judge that counts what it is handed: how pipeline tests count work
instead of timing it (shared by the test modules, which cannot import each other)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sse import graph
from sse.run.context import Plan

VERIFIED: Counter[str] = Counter()  # example id -> verification requests


def counted(reqs: list[Any]) -> list[Any]:
    """The scorers' own judge, counting the requests it is handed."""
    from sse.scorers import verify_batch

    for r in reqs:
        VERIFIED[r.example.id] += 1
    return verify_batch(reqs)


def run_doit(args: list[str], plan: Plan) -> int:
    """The graph with the counting judge in the run context (the seam tests use)."""
    return graph.run_doit(args, plan, judge=counted)
