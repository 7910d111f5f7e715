"""Where generation and verification batches run (local process pool, or a Dask cluster).

Executors are handed plain values (a SystemSpec and TaskConfig with the prompts, or verify
requests) and call the work functions of the layers below: the systems' one adapter cache
and the scorers. They never import the run layer or the graph; the caller stores results.

The executor is chosen by SSE_SCHEDULER ('' or 'local' -> this machine; tcp://HOST:PORT ->
Dask); doit's worker processes read the same variable, so every process picks the same kind.
"""

from __future__ import annotations

import os

from sse.core.errors import ConfigError
from sse.exec.base import Executor, Judge, cpus, n_parts, split

__all__ = ["Executor", "Judge", "close_executor", "configure_executor", "cpus", "get_executor", "n_parts", "split"]

SCHEDULER_ENV = "SSE_SCHEDULER"


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
