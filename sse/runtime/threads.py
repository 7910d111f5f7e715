"""BLAS thread control. On a shared machine one BLAS thread per process is often much
faster than two (spinning threads fight other work), so callers choose explicitly."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def default_threads() -> int:
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
