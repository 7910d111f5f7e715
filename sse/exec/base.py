"""What every executor shares: the protocol, the judge type and how batches are cut.

Its own module so that the executors (sse.exec.local, sse.exec.dask) import it without importing
the package that chooses between them (no import cycle).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sse.core.records import Completion, Verdict
from sse.task.spec import Prompt, SystemSpec

T = TypeVar("T")

#: a function judging verify requests in order (the scorers' `verify_batch`, or a test's stand-in)
Judge = Callable[[list[Any]], list[Verdict]]


class Executor(Protocol):
    name: str

    @property
    def slots(self) -> int:
        """How many batches can run at once (processes or cluster threads)."""
        ...

    def generate(self, spec: SystemSpec, task: Any, prompts: list[Prompt]) -> list[Completion]:
        """Completions for prompts of one system of one task, in order."""
        ...

    def verify(self, requests: list[Any], judge: Judge | None = None) -> list[Verdict]:
        """Verdicts for sse.scorers.VerifyRequest objects, in order. `judge` None: the scorers'."""
        ...

    def close(self) -> None:
        """Release processes or connections."""
        ...


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """Contiguous, balanced parts (concatenating them gives `items` back in order)."""
    parts = max(1, min(parts, len(items)))
    q, r = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + q + (1 if i < r else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def n_parts(n: int, slots: int, min_batch: int) -> int:
    """How many sub-batches: one per slot, but none smaller than min_batch (compiling batches is cheaper)."""
    if n <= 0:
        return 0
    return max(1, min(slots, n // max(1, min_batch)))


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
