"""A dollar budget for one evaluation, shared by every thread and process that spends.

`sse evaluate --max-cost D` must stop paid calls once D dollars are spent, even when
generation runs in several doit worker processes. The spend therefore lives in a small
JSON ledger on disk, read and rewritten under a `filelock` lock, not in memory.

Protocol for a paid call (see `sse.systems.clis.adapter`):

    est = budget.reserve(system)      # None -> refused: mark the prompt error_kind="budget"
    try: ... run the call ...
    finally: budget.charge(system, dollars, reserved=est)

`reserve` refuses once spent + reserved >= max_cost, and also when the running mean cost
of this system's calls would carry the total past max_cost, so concurrent calls rarely
overshoot (by at most the calls already in flight). The pipeline enables the budget by
exporting two environment variables (`Budget.env(...)` builds them):

    SSE_MAX_COST        dollars, a float > 0 (unset: no budget)
    SSE_BUDGET_LEDGER   path of the ledger JSON (default: <cache>/budget/ledger.json)

and calls `Budget.start(path, max_cost)` once per evaluation to begin a fresh ledger
(`Budget.activate(max_cost)` does both).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sse.core.errors import ConfigError
from sse.core.store import atomic_write_text, cache_root

ENV_MAX_COST = "SSE_MAX_COST"
ENV_LEDGER = "SSE_BUDGET_LEDGER"


def default_ledger_path() -> Path:
    return cache_root() / "budget" / "ledger.json"


def _empty(max_cost: float) -> dict[str, Any]:
    return {"max_cost": max_cost, "spent": 0.0, "reserved": 0.0, "calls": 0, "refused": 0,
            "by_system": {}}


@dataclass
class Budget:
    """A ledger file plus the cap it enforces."""

    path: Path
    max_cost: float

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=60)

    # ------------------------------------------------------------- construction
    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Budget | None:
        """The budget the pipeline asked for, or None when SSE_MAX_COST is unset/empty."""
        env = os.environ if environ is None else environ
        raw = (env.get(ENV_MAX_COST) or "").strip()
        if not raw:
            return None
        try:
            cap = float(raw)
        except ValueError:
            cap = float("nan")
        if not math.isfinite(cap) or cap < 0:
            raise ConfigError(f"expected a non-negative number of dollars, got {raw!r}",
                              field=ENV_MAX_COST, fix="pass e.g. --max-cost 5.00")
        ledger = (env.get(ENV_LEDGER) or "").strip()
        return cls(Path(ledger) if ledger else default_ledger_path(), cap)

    @classmethod
    def start(cls, path: str | os.PathLike[str], max_cost: float) -> Budget:
        """Begin a fresh ledger (one per evaluation): previous spend is forgotten."""
        b = cls(Path(path), float(max_cost))
        b.path.parent.mkdir(parents=True, exist_ok=True)
        with b._lock:
            atomic_write_text(b.path, json.dumps(_empty(b.max_cost), indent=1))
        return b

    @classmethod
    def activate(cls, max_cost: float, ledger: str | os.PathLike[str] | None = None) -> Budget:
        """For `sse evaluate --max-cost D`: a fresh ledger for this evaluation, exported through
        os.environ so adapters in this process and in doit's workers find it."""
        path = Path(ledger) if ledger is not None else \
            cache_root() / "budget" / f"ledger-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.json"
        b = cls.start(path, max_cost)
        os.environ.update(cls.env(max_cost, path))
        return b

    @staticmethod
    def env(max_cost: float, ledger: str | os.PathLike[str]) -> dict[str, str]:
        """Environment variables that make `from_env` find this budget in a worker."""
        return {ENV_MAX_COST: repr(float(max_cost)), ENV_LEDGER: str(ledger)}

    # ------------------------------------------------------------------ ledger
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "spent" in data:
                return data
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        return _empty(self.max_cost)

    def _write(self, data: dict[str, Any]) -> None:
        data["max_cost"] = self.max_cost
        atomic_write_text(self.path, json.dumps(data, indent=1, sort_keys=True))

    def snapshot(self) -> dict[str, Any]:
        """The ledger as stored (spent, reserved, calls, refused, by_system)."""
        with self._lock:
            return self._read()

    def spent(self) -> float:
        return float(self.snapshot()["spent"])

    def exhausted(self) -> bool:
        return self.spent() >= self.max_cost

    # ------------------------------------------------------------------ protocol
    def reserve(self, system: str) -> float | None:
        """Ask to start one call of `system`. Returns the dollars reserved for it (the running
        mean cost of its earlier calls, 0.0 for the first), or None when the budget refuses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            d = self._read()
            row = d["by_system"].get(system, {"dollars": 0.0, "calls": 0})
            est = row["dollars"] / row["calls"] if row["calls"] else 0.0
            committed = float(d["spent"]) + float(d["reserved"])
            if committed >= self.max_cost or (est > 0 and committed + est > self.max_cost):
                d["refused"] = int(d.get("refused", 0)) + 1
                self._write(d)
                return None
            d["reserved"] = float(d["reserved"]) + est
            self._write(d)
            return est

    def charge(self, system: str, dollars: float, *, reserved: float = 0.0) -> float:
        """Record what a finished call cost and release its reservation; returns total spent."""
        dollars = max(0.0, float(dollars or 0.0))
        with self._lock:
            d = self._read()
            d["reserved"] = max(0.0, float(d["reserved"]) - float(reserved or 0.0))
            d["spent"] = float(d["spent"]) + dollars
            d["calls"] = int(d["calls"]) + 1
            row = d["by_system"].setdefault(system, {"dollars": 0.0, "calls": 0})
            row["dollars"] = float(row["dollars"]) + dollars
            row["calls"] = int(row["calls"]) + 1
            self._write(d)
            return float(d["spent"])

    def describe(self) -> str:
        d = self.snapshot()
        return f"budget ${self.max_cost:.4f} reached (${float(d['spent']):.4f} spent)"
