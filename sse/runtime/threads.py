"""BLAS thread control and the machine facts the engines are sized by (free cores, free memory).

On a shared machine one BLAS thread per process is often much faster than two (spinning
threads fight other work), so the default counts only the cores that are not busy."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def default_threads() -> int:
    """Threads for conversion and validation: $SSE_NATIVE_THREADS, else one (their figures stay put)."""
    raw = os.environ.get("SSE_NATIVE_THREADS")
    return max(1, int(raw)) if raw else 1


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS to n threads inside the block (no-op without threadpoolctl or when n is None)."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional dependency
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def machine_threads() -> int:
    """BLAS threads: $SSE_NATIVE_THREADS, else the cores this process may use that are not busy.

    On a shared machine a BLAS thread that has to wait for a busy core spins, and a step can
    get ten times slower (measured: 0.86 s vs 0.15 s per decode step with 2 threads vs 1 at
    load 15 on 2 cores), so busy cores (the 1-minute load average) are left out.
    """
    raw = os.environ.get("SSE_NATIVE_THREADS")
    if raw:
        return max(1, int(raw))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (4 GiB assumed where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30
