"""Where generation and verification batches run: the executor seam.

The pipeline hands batches of work to `get_executor()`; doit stays the
orchestrator of stages and the content-addressed store stays with the caller,
which writes every result that comes back.

- `local` (default): generation in this process (adapters batch themselves);
  verification split into sub-batches over a process pool sized to the machine
  when the batch is big enough for that to pay (each sub-batch still compiles as
  one crate). Results are identical and in order.
- `dask`: SSE_SCHEDULER=tcp://HOST:PORT (or `configure_executor(address)`), see
  sse.exec.dask and docs/distributed.md.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from sse.core.records import Completion, Verdict
from sse.task.spec import Prompt

SCHEDULER_ENV = "SSE_SCHEDULER"
LOCAL_MIN_BATCH = 16  # below 2 x this a verify chunk stays one crate in one process


class Executor(Protocol):
    name: str

    @property
    def slots(self) -> int:
        """How many batches can run at once (processes or cluster threads)."""
        ...

    def generate(self, task_path: str, system: str, prompts: list[Prompt]) -> list[Completion]:
        """Completions for prompts of one system of one task, in order."""
        ...

    def verify(self, requests: list[Any]) -> list[Verdict]:
        """Verdicts for sse.scorers.VerifyRequest objects, in order."""
        ...

    def close(self) -> None:
        """Release processes or connections."""
        ...


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """In-process generation; verification over a process pool sized to the machine."""

    name = "local"

    def __init__(self, workers: int | None = None, min_batch: int | None = None) -> None:
        self._slots = workers or int(os.environ.get("SSE_LOCAL_WORKERS", "0")) or _cpus()
        self.min_batch = min_batch or int(os.environ.get("SSE_LOCAL_MIN_BATCH", str(LOCAL_MIN_BATCH)))
        self._pool: ProcessPoolExecutor | None = None

    @property
    def slots(self) -> int:
        return self._slots

    def generate(self, task_path: str, system: str, prompts: list[Prompt]) -> list[Completion]:
        from sse.run.pipeline import _adapter, _task

        return _adapter(_task(task_path), system).generate(prompts)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["sse.scorers", "sse.scorers.programs"])
            self._pool = ProcessPoolExecutor(max_workers=self._slots, mp_context=ctx)
        return self._pool

    def verify(self, requests: list[Any]) -> list[Verdict]:
        from sse.exec.dask import n_parts, split
        from sse.run.pipeline import _verify_fns
        from sse.scorers import verify_batch

        fn = _verify_fns()[3]
        parts = n_parts(len(requests), self._slots, self.min_batch)
        if fn is not verify_batch or parts <= 1:  # a substituted verifier (tests) or a small batch: here
            return list(fn(requests))
        pool = self._get_pool()
        futures: list[Future[list[Verdict]]] = [pool.submit(verify_batch, part) for part in split(requests, parts)]
        try:
            return [v for f in futures for v in f.result()]
        except BrokenProcessPool:  # a pool process died (killed, OOM): judge this chunk here instead
            self._drop_pool()
            return list(verify_batch(requests))
        except BaseException:  # Ctrl-C: do not leave queued sub-batches behind
            for f in futures:
                f.cancel()
            self._drop_pool()
            raise

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self._drop_pool()


_EXECUTOR: Executor | None = None
_EXECUTOR_FOR: str | None = None
_EXECUTOR_PID: int | None = None  # a forked child (doit -n) must not reuse its parent's pool or connection


def _make(sched: str) -> Executor:
    if sched in ("", "local"):
        return LocalExecutor()
    if "://" in sched or ":" in sched:
        from sse.exec.dask import DaskExecutor

        return DaskExecutor(sched)
    from sse.core.errors import ConfigError

    raise ConfigError(f"unknown scheduler {sched!r}", field=SCHEDULER_ENV,
                      fix="use tcp://HOST:PORT of a `dask scheduler`, or 'local' / unset")


def get_executor() -> Executor:
    """The executor named by SSE_SCHEDULER ('' or 'local' -> this machine; tcp://HOST:PORT -> Dask).

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
