"""What a run is about (`Plan`) and what its work functions are handed (`RunContext`).

The plan is what the CLI (or dodo.py) asks for; the context is built from it per task and
passed explicitly to the corpus/generate/verify/collect work functions, so nothing in the run
layer keeps module-level state or touches the cache folder on import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sse.core.store import Store, cache_root
from sse.exec import Executor, Judge, get_executor
from sse.systems.base import Adapter, adapter_for
from sse.task.config import TaskConfig, systems_for
from sse.task.spec import SystemSpec


@dataclass(frozen=True)
class Plan:
    """What to evaluate: task files, systems, runs and the report folder (the cache folder is
    SSE_CACHE_DIR, read by sse.core.store)."""

    task_glob: str = "tasks/python-to-rust.yaml"
    models: tuple[str, ...] = ()
    runs: int | None = None
    output: str = "reports"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        return cls(task_glob=d["task_glob"], models=tuple(d["models"]), runs=d["runs"], output=d["output"])


def build_dir(task_id: str) -> Path:
    return cache_root() / "build" / task_id


def report_dir(plan: Plan, task_id: str) -> Path:
    return Path(plan.output).resolve() / task_id


class StoreSession:
    """One store per process and the keys it held when first asked (fast no-op up-to-date checks)."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._keys: frozenset[str] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store()
        return self._store

    def keys(self) -> frozenset[str]:
        """Every key in the store, read once per session."""
        if self._keys is None:
            self._keys = frozenset(self.store.iterkeys())
        return self._keys

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store, self._keys = None, None


@dataclass
class RunContext:
    """One task's run: the store session, the task, its systems and where batches execute."""

    task: TaskConfig
    session: StoreSession
    judge: Judge | None = None  # None: the scorers' own (a test may count or stub verification)
    executor_factory: Callable[[], Executor] = field(default=get_executor)
    _payload: tuple[int, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        return self.session.store

    def store_keys(self) -> frozenset[str]:
        return self.session.keys()

    @property
    def executor(self) -> Executor:
        """Asked per batch: the executor follows SSE_SCHEDULER and survives a fork (doit -n)."""
        return self.executor_factory()

    @property
    def build_dir(self) -> Path:
        return build_dir(self.task.id)

    def runs(self, plan: Plan) -> int:
        return plan.runs or self.task.runs

    def spec(self, name: str) -> SystemSpec:
        return systems_for(self.task, [name])[0]

    def adapter(self, name: str) -> Adapter:
        return adapter_for(self.spec(name), self.task)

    def payload(self) -> dict[str, Any]:
        """examples.json, parsed once per version of the file."""
        import orjson

        path = self.build_dir / "examples.json"
        mtime = path.stat().st_mtime_ns
        if self._payload is None or self._payload[0] != mtime:
            self._payload = (mtime, orjson.loads(path.read_bytes()))
        return self._payload[1]
