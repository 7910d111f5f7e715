"""The graph run with a judge that counts what it is handed: how pipeline tests count work
instead of timing it (shared by the test modules, which cannot import each other)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sse import graph
from sse.run.context import Plan


class CountingJudge:
    """The scorers' own judge, with a count of verification requests per example id."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, reqs: list[Any]) -> list[Any]:
        from sse.scorers import verify_batch

        self.counts.update(r.example.id for r in reqs)
        return verify_batch(reqs)


COUNTED = CountingJudge()
VERIFIED = COUNTED.counts  # example id -> verification requests, for modules that share one judge


def run_doit(args: list[str], plan: Plan) -> int:
    """The graph with the shared counting judge in the run context (the seam tests use)."""
    return graph.run_doit(args, plan, judge=COUNTED)
