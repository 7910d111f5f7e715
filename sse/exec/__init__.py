"""Where generation and verification batches run (local process pool, or a Dask cluster).

Executors are handed plain values (a SystemSpec and TaskConfig with the prompts, or verify
requests) and call the work functions of the layers below: the systems' one adapter cache
and the scorers. They never import the run layer or the graph; the caller stores results.

The executor is chosen by SSE_SCHEDULER ('' or 'local' -> this machine; tcp://HOST:PORT ->
Dask); doit's worker processes read the same variable, so every process picks the same kind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sse.core.errors import ConfigError
from sse.core.records import Completion, Verdict
from sse.task.spec import Prompt, SystemSpec

SCHEDULER_ENV = "SSE_SCHEDULER"
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


_EXECUTOR: Executor | None = None
_EXECUTOR_FOR: str | None = None
_EXECUTOR_PID: int | None = None  # a forked child (doit -n) must not reuse its parent's pool or connection


def _make(sched: str) -> Executor:
    if sched in ("", "local"):
        from sse.exec.local import LocalExecutor

        return LocalExecutor()
    if "://" in sched or ":" in sched:
        from sse.exec.dask import DaskExecutor

        return DaskExecutor(sched)
    raise ConfigError(f"unknown scheduler {sched!r}", field=SCHEDULER_ENV,
                      fix="use tcp://HOST:PORT of a `dask scheduler`, or 'local' / unset")


def get_executor() -> Executor:
    """The executor named by SSE_SCHEDULER, made once per process.

    Connecting to a scheduler is checked here with a short timeout (SSE_SCHEDULER_TIMEOUT,
    default 5 s): an unreachable one is a one-line sse.exec.dask.ClusterError.
    """
    global _EXECUTOR, _EXECUTOR_FOR, _EXECUTOR_PID
    sched = os.environ.get(SCHEDULER_ENV, "").strip()
    if _EXECUTOR_PID != os.getpid():
        _EXECUTOR, _EXECUTOR_FOR = None, None  # inherited through fork: abandon, never close, the parent's
    if _EXECUTOR is None or _EXECUTOR_FOR != sched:
        close_executor()
        _EXECUTOR = _make(sched)
        _EXECUTOR_FOR, _EXECUTOR_PID = sched, os.getpid()
    return _EXECUTOR


def configure_executor(scheduler: str | None) -> Executor:
    """What `sse evaluate --scheduler ADDR` calls before running the graph: sets SSE_SCHEDULER
    (None leaves the environment as it is) and connects now, so a bad address fails before any work."""
    if scheduler is not None:
        os.environ[SCHEDULER_ENV] = scheduler
    return get_executor()


def close_executor() -> None:
    """Close the current executor (pool processes, cluster connection)."""
    global _EXECUTOR, _EXECUTOR_FOR
    if _EXECUTOR is not None and _EXECUTOR_PID == os.getpid():
        _EXECUTOR.close()
    _EXECUTOR, _EXECUTOR_FOR = None, None
