"""llama-cpp-python, when installed: the peer for parity checks and the `llamacpp` system kind.

Why a module: llama.cpp logs to file descriptor 2 even with verbose=False, and an
absent or broken install must read as "not available" (None), never as a crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def llama_cpp_version() -> str | None:
    """The installed llama-cpp-python version, or None when it cannot be imported."""
    try:
        import llama_cpp
    except Exception:  # noqa: BLE001 - a broken native build is "absent" too
        return None
    return str(getattr(llama_cpp, "__version__", "unknown"))


def open_llama(path: str, **kw: Any) -> Any:
    """A llama_cpp.Llama for `path` (quietly), or None when llama-cpp-python is unavailable."""
    if llama_cpp_version() is None:
        return None
    from llama_cpp import Llama

    kw.setdefault("verbose", False)
    try:
        with quiet_stderr():
            return Llama(model_path=str(path), **kw)
    except Exception:  # noqa: BLE001 - a model llama.cpp refuses is "no peer", the caller says so
        return None
