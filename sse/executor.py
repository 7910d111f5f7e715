"""Where generation and verification batches run: the executor seam.

The pipeline hands batches of work to `get_executor()`; doit stays the
orchestrator of stages and the content-addressed store stays with the caller,
which writes every result that comes back. `local` runs batches in this
process; other executors (e.g. a Dask cluster) plug in here.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from sse.models.base import Prompt
from sse.records import Completion, Verdict


class Executor(Protocol):
    name: str

    def generate(self, task_path: str, system: str, prompts: list[Prompt]) -> list[Completion]:
        """Completions for prompts of one system of one task, in order."""
        ...

    def verify(self, requests: list[Any]) -> list[Verdict]:
        """Verdicts for sse.verify.VerifyRequest objects, in order."""
        ...


class LocalExecutor:
    """In-process: the adapter batches generation; the verifier batches compilation."""

    name = "local"

    def generate(self, task_path: str, system: str, prompts: list[Prompt]) -> list[Completion]:
        from sse.pipeline import _adapter, _task

        return _adapter(_task(task_path), system).generate(prompts)

    def verify(self, requests: list[Any]) -> list[Verdict]:
        from sse.pipeline import _verify_fns

        return _verify_fns()[3](requests)


_EXECUTOR: Executor | None = None


def get_executor() -> Executor:
    """The executor named by SSE_SCHEDULER ('' or 'local' -> in-process)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        sched = os.environ.get("SSE_SCHEDULER", "")
        if sched in ("", "local"):
            _EXECUTOR = LocalExecutor()
        else:
            from sse.errors import ConfigError

            raise ConfigError(f"unknown scheduler {sched!r}", field="SSE_SCHEDULER", fix="unset it, or 'local'")
    return _EXECUTOR
