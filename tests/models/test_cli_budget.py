"""The shared dollar ledger: refusal rules, env parsing, and exact totals across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sse.core.errors import ConfigError
from sse.systems.budget import ENV_LEDGER, ENV_MAX_COST, Budget


def test_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Budget.from_env({}) is None
    assert Budget.from_env({ENV_MAX_COST: " "}) is None
    b = Budget.from_env({ENV_MAX_COST: "2.5", ENV_LEDGER: str(tmp_path / "l.json")})
    assert b is not None and b.max_cost == 2.5 and b.path == tmp_path / "l.json"
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    d = Budget.from_env({ENV_MAX_COST: "1"})
    assert d is not None and d.path == (tmp_path / "cache" / "budget" / "ledger.json").resolve()
    for bad in ("abc", "-1", "nan", "inf"):
        with pytest.raises(ConfigError) as e:
            Budget.from_env({ENV_MAX_COST: bad})
        assert ENV_MAX_COST in str(e.value) and "--max-cost" in str(e.value)


def test_reserve_uses_running_mean_and_refuses_at_cap(tmp_path: Path) -> None:
    b = Budget.start(tmp_path / "l.json", 1.0)
    assert b.reserve("a") == 0.0  # first call: nothing known yet
    b.charge("a", 0.4, reserved=0.0)
    est = b.reserve("a")
    assert est == pytest.approx(0.4)
    b.charge("a", 0.4, reserved=est)
    assert b.reserve("a") is None  # 0.8 spent + 0.4 expected > 1.0
    assert b.reserve("b") == 0.0  # an unknown system may still try while spent < cap
    b.charge("b", 0.3, reserved=0.0)
    assert b.exhausted() and b.reserve("b") is None
    snap = b.snapshot()
    assert snap["spent"] == pytest.approx(1.1) and snap["refused"] == 2 and snap["calls"] == 3
    assert Budget.start(tmp_path / "l.json", 1.0).spent() == 0.0  # a fresh evaluation starts at zero


def test_zero_budget_refuses_everything(tmp_path: Path) -> None:
    b = Budget.start(tmp_path / "l.json", 0.0)
    assert b.reserve("a") is None


SPEND = """
import sys
from pathlib import Path
from sse.systems.budget import Budget
b = Budget(Path(sys.argv[1]), 100.0)
for _ in range(int(sys.argv[2])):
    est = b.reserve("sys")
    assert est is not None
    b.charge("sys", 0.01, reserved=est)
"""


def test_ledger_is_exact_across_processes(tmp_path: Path) -> None:
    ledger = tmp_path / "l.json"
    Budget.start(ledger, 100.0)
    procs = [subprocess.Popen([sys.executable, "-c", SPEND, str(ledger), "25"]) for _ in range(4)]
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    snap = Budget(ledger, 100.0).snapshot()
    assert snap["calls"] == 100 and snap["spent"] == pytest.approx(1.0)
    assert snap["reserved"] == pytest.approx(0.0, abs=1e-9)


def test_activate_exports_a_fresh_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_MAX_COST, "")  # registered, so what activate() exports is undone afterwards
    monkeypatch.setenv(ENV_LEDGER, "")
    b = Budget.activate(0.75)
    found = Budget.from_env()
    assert found is not None and found.path == b.path and found.max_cost == 0.75
    assert b.path.parent == (tmp_path / "cache" / "budget").resolve() and found.spent() == 0.0
