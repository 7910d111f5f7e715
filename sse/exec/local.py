"""The local executor: generation in this process (adapters batch themselves); verification
split into sub-batches over a process pool sized to the machine when the batch is big enough
for that to pay (each sub-batch still compiles as one crate). Results are identical and in order.

Pool workers die with the process that made them (a parent-death signal plus a watchdog on the
parent's pid), so a `kill -9` of `sse evaluate` leaves no worker behind.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sse.core.records import Completion, Verdict
from sse.exec.base import Judge, cpus, n_parts, split
from sse.scorers import verify_batch
from sse.systems.base import adapter_for
from sse.task.spec import Prompt, SystemSpec

LOCAL_MIN_BATCH = 16  # below 2 x this a verify chunk stays one crate in one process
PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Pool initializer: exit when `parent` is gone, however it died."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="sse-parent-watch").start()


class LocalExecutor:
    """In-process generation; verification over a process pool sized to the machine."""

    name = "local"

    def __init__(self, workers: int | None = None, min_batch: int | None = None) -> None:
        self._slots = workers or int(os.environ.get("SSE_LOCAL_WORKERS", "0")) or cpus()
        self.min_batch = min_batch or int(os.environ.get("SSE_LOCAL_MIN_BATCH", str(LOCAL_MIN_BATCH)))
        self._pool: ProcessPoolExecutor | None = None

    @property
    def slots(self) -> int:
        return self._slots

    def generate(self, spec: SystemSpec, task: Any, prompts: list[Prompt]) -> list[Completion]:
        return adapter_for(spec, task).generate(prompts)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork: workers are this process's children (the parent-death signal reaches them) and no
            # forkserver or resource tracker outlives us; the scorers are imported already.
            ctx = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=self._slots, mp_context=ctx,
                                             initializer=_die_with, initargs=(os.getpid(),))
        return self._pool

    def verify(self, requests: list[Any], judge: Judge | None = None) -> list[Verdict]:
        fn = judge or verify_batch
        parts = n_parts(len(requests), self._slots, self.min_batch)
        if fn is not verify_batch or parts <= 1:  # a substituted judge (tests) or a small batch: here
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
