"""Shared helpers for the verify tests (a plain module: no package, no conftest clash)."""

from __future__ import annotations

import pytest

from sse.core.errors import VerifyError
from sse.core.records import Example, TestCase


def have_rustc() -> bool:
    from sse.scorers.rustc import toolchain_id

    try:
        toolchain_id()
    except VerifyError:
        return False
    return True


needs_rustc = pytest.mark.skipif(not have_rustc(), reason="rustc not installed")


def make_example(python: str, entry: str, tests: list[tuple[tuple, object]] | list[TestCase],
                 ex_id: str = "ex", kind: str = "function") -> Example:
    tcs = tuple(t if isinstance(t, TestCase) else TestCase(args=t[0], expected=t[1]) for t in tests)
    return Example(id=ex_id, python=python, entry_point=entry, tests=tcs, kind=kind)  # type: ignore[arg-type]
