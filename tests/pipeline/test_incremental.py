"""The graph recomputes exactly what changed: counted, not timed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from counting import VERIFIED, run_doit

from sse.core.store import Store
from sse.run.context import Plan
from sse.run.shards import read_entries


@pytest.fixture(autouse=True)
def counting_verifier() -> None:
    VERIFIED.clear()


PLAN = Plan(task_glob="tasks/t.yaml", output="reports")


def _verify_all() -> None:
    assert run_doit(["verify"], PLAN) == 0


def _verdicts(project: Path, system: str, run: int) -> dict[str, str]:
    _, entries = read_entries(project / "cache/build/tiny" / system / f"verify-r{run}.json")
    return {e["example_id"]: e["verdict"]["status"] for e in entries}


def test_cold_run_dedups_deterministic_runs_and_identical_rust(project: Path, calls: Counter[str]) -> None:
    CALLS = calls
    _verify_all()
    # deterministic: one generation per example for all 3 runs; stochastic: one per run
    assert sum(v for k, v in CALLS.items() if k.startswith("det:")) == 3
    assert sum(v for k, v in CALLS.items() if k.startswith("sto:")) == 9
    # det and sto return the reference Rust: identical Rust + tests is compiled once per example
    assert VERIFIED == Counter({"add": 1, "shout": 1, "evens": 1})
    for system in ("reference", "det", "sto"):
        for run in range(3):
            assert set(_verdicts(project, system, run).values()) == {"pass"}


def test_noop_rerun_executes_no_generate_or_verify(project: Path, calls: Counter[str]) -> None:
    _verify_all()
    build = sorted((project / "cache" / "build").rglob("*.json"))
    assert len(build) == 1 + 2 * 3 * 3 * 2  # examples.json; per system x run: generate, verify, each index + 1 shard
    stamps = {p: p.stat().st_mtime_ns for p in build}
    before_calls, before_verified = sum(calls.values()), sum(VERIFIED.values())
    _verify_all()
    assert sum(calls.values()) == before_calls and sum(VERIFIED.values()) == before_verified
    assert {p: p.stat().st_mtime_ns for p in build} == stamps  # no generate or verify task ran


def test_editing_one_example_recomputes_only_it(project: Path, calls: Counter[str], corpus_writer: Any) -> None:
    CALLS = calls
    write_corpus, EXAMPLES = corpus_writer
    _verify_all()
    CALLS.clear()
    VERIFIED.clear()
    edited = [(i, py.replace("+ '!'", "+ '!!'"), a, rs.replace('"{}!"', '"{}!!"')) if i == "shout" else (i, py, a, rs)
              for i, py, a, rs in EXAMPLES]
    write_corpus(project / "corpus.jsonl", edited)
    _verify_all()
    assert CALLS == Counter({"det:shout:0": 1, "sto:shout:0": 1, "sto:shout:1": 1, "sto:shout:2": 1})
    assert VERIFIED == Counter({"shout": 1})  # one new Rust+tests pair, shared by every system and run
    assert _verdicts(project, "sto", 2)["shout"] == "pass"


def test_deleted_store_entry_recomputes_just_that_entry(project: Path, calls: Counter[str]) -> None:
    CALLS = calls
    _verify_all()
    _, gen = read_entries(project / "cache/build/tiny/sto/generate-r1.json")
    key = next(e["key"] for e in gen if e["example_id"] == "evens")
    with Store(project / "cache" / "store") as st:
        assert st.delete("completion", key)
    CALLS.clear()
    VERIFIED.clear()
    _verify_all()
    assert CALLS == Counter({"sto:evens:1": 1})
    assert VERIFIED == Counter()  # the regenerated Rust is identical: its verdict is still cached


def test_interrupted_run_resumes_without_redoing_finished_samples(project: Path, calls: Counter[str]) -> None:
    CALLS = calls
    models = project / "tasks" / "models.yaml"
    models.write_text(models.read_text().replace("sto: {kind: counting, options: {stochastic: true}}",
                                                 "sto: {kind: counting, options: {stochastic: true, interrupt_after: 5}}"))
    with pytest.raises(KeyboardInterrupt):
        run_doit(["verify"], PLAN)
    first = Counter(CALLS)
    models.write_text(models.read_text().replace(", interrupt_after: 5", ""))
    _verify_all()
    # every finished (stored) sample of the first attempt was not generated again
    assert all(CALLS[k] == first[k] for k in first if k.startswith("det:"))
    assert sum(v for k, v in CALLS.items() if k.startswith("det:")) == 3
    assert set(_verdicts(project, "sto", 2).values()) == {"pass"}
