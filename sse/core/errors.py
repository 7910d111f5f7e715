"""User-facing errors: each renders as one line naming the file, the field and the fix."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class SseError(Exception):
    """Base for errors the CLI prints as a single line and exits non-zero on."""

    exit_code = 2

    def __init__(
        self, message: str, *, file: str | None = None, field: str | None = None, fix: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.field = field
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.field:
            parts.append(self.field)
        head = ": ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.fix:
            text += f" (fix: {self.fix})"
        return " ".join(text.split())


class ConfigError(SseError):
    """A task or registry YAML is wrong."""


class CorpusError(SseError):
    """A corpus is missing, malformed, or states expectations the Python disagrees with."""


class SystemError_(SseError):
    """A system (model adapter) cannot be built or run."""


class VerifyError(SseError):
    """Verification could not be set up (not a verdict: a harness problem)."""


class ArtifactError(SseError):
    """A model artifact is missing, corrupt, unsafe, or failed a gate."""


class StoreError(SseError):
    """The cache cannot be read or written: a damaged database, a read-only or full directory."""


def print_error(e: SseError) -> None:
    """The one way an SseError reaches the user: `sse: error: <one line>` on stderr."""
    print(f"sse: error: {e.one_line()}", file=sys.stderr)


def run_guarded(fn: Callable[..., Any], *args: Any) -> bool:
    """A doit action's body: False (the task failed) with the one line instead of a traceback."""
    try:
        fn(*args)
    except SseError as e:
        print_error(e)
        return False
    return True
