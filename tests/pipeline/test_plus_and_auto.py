"""The run layer wires plus cases and `runs: auto` end to end (real rustc, counted, not timed)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from counting import VERIFIED, run_doit

from sse.core.records import Completion, TestCase
from sse.run.context import Plan
from sse.run.shards import read_entries
from sse.systems.base import register_kind
from sse.task.corpus import load_corpus
from sse.task.corpus.plus import PlusSet, plus_dir, plus_key, save_plus
from sse.task.spec import Decoding, Prompt, SystemSpec

WRONG_ADD = "pub fn add(a: i64, b: i64) -> i64 { if a == 100 { 0 } else { a + b } }"


class WrongAddAdapter:
    """Deterministic: the reference Rust, except an `add` that passes the base tests and fails plus."""

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec

    def fingerprint(self) -> str:
        return "wrong-add/1"

    def is_stochastic(self, decoding: Decoding) -> bool:
        return False

    def unavailable_reason(self) -> str | None:
        return None

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        return [
            Completion(
                system=self.spec.name,
                example_id=p.example.id,
                run=p.run,
                text=f"```rust\n{WRONG_ADD if p.example.id == 'add' else p.example.rust_reference}\n```",
                tokens_in=1,
                tokens_out=1,
                latency_s=0.001,
                cpu_s=0.001,
            )
            for p in prompts
        ]


register_kind("wrongadd")(lambda spec, task: WrongAddAdapter(spec, task))


@pytest.fixture(autouse=True)
def counting_verifier() -> None:
    VERIFIED.clear()


def _task(project: Path, evaluation: str, ground_truth: str = "{type: compiler}") -> None:
    t = project / "tasks" / "t.yaml"
    text = t.read_text()
    start = text.index("evaluation:")
    end = text.index("\n", start)
    text = text[:start] + f"evaluation: {evaluation}" + text[end:]
    t.write_text(text.replace("ground_truth: {type: compiler}", f"ground_truth: {ground_truth}"))
    with (project / "tasks" / "models.yaml").open("a") as f:
        f.write("  wrong: {kind: wrongadd}\n")


def _store_plus(project: Path, extra: tuple[TestCase, ...] = ()) -> None:
    corpus = load_corpus(str(project / "corpus.jsonl"))
    add = next(e for e in corpus.examples if e.id == "add")
    cases = (TestCase(args=(100, 23), expected=123), TestCase(args=(7, 8), expected=15), *extra)
    save_plus(plus_dir(project / "corpus.jsonl"), PlusSet("add", plus_key(add), cases))


def _samples(project: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (project / "reports/tiny/samples.jsonl").read_text().splitlines() if x]


def test_plus_cases_judged_beside_base_and_reported(project: Path) -> None:
    _task(project, "{runs: 1, systems: [reference, det, wrong], machine_price_per_hour: 0.1}")
    _store_plus(project)
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    # base: one verdict per distinct Rust (reference = det, wrong differs only on add); base+plus: one more
    # verdict for add's two distinct answers; nothing else has plus cases
    assert VERIFIED == Counter({"add": 4, "shout": 1, "evens": 1})
    by = {(s["system"], s["example_id"]): s for s in _samples(project)}
    assert by[("reference", "add")]["meta"]["plus"]["status"] == "pass"
    assert (
        by[("det", "add")]["meta"]["plus"]["verdict_key"]
        == by[("reference", "add")]["meta"]["plus"]["verdict_key"]
    )
    wrong = by[("wrong", "add")]
    assert wrong["status"] == "pass" and wrong["meta"]["plus"]["status"] == "test_failure"
    assert wrong["meta"]["plus"]["cases"] == 2 and by[("wrong", "shout")]["meta"] == {}
    results = json.loads((project / "reports/tiny/results.json").read_text())
    rows = {r["name"]: r for r in results["plus"]["systems"]}
    assert rows["reference"]["base"] == rows["reference"]["base_plus"] == 1.0
    assert rows["wrong"]["base"] == 1.0 and rows["wrong"]["base_plus"] == pytest.approx(2 / 3)
    assert rows["wrong"]["drop_points"] == pytest.approx(100 / 3) and rows["wrong"]["caught_by_plus"] == 1
    md = (project / "reports/tiny/report.md").read_text()
    assert "## Base vs base+plus" in md and "| wrong | 100.0% |" in md
    verdict_keys = {
        json.loads(x)["key"] for x in (project / "reports/tiny/verdicts.jsonl").read_text().splitlines()
    }
    assert wrong["meta"]["plus"]["verdict_key"] in verdict_keys
    # a rerun judges nothing again; plus off: no plus verdict asked for, no section
    VERIFIED.clear()
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    assert VERIFIED == Counter()
    # a changed plus set beside the corpus is picked up: add's two passing answers are judged on it
    _store_plus(project, (TestCase(args=(2, 2), expected=4),))
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    assert VERIFIED == Counter({"add": 2})
    VERIFIED.clear()
    t = project / "tasks" / "t.yaml"
    t.write_text(
        t.read_text().replace("ground_truth: {type: compiler}", "ground_truth: {type: compiler, plus: false}")
    )
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    assert (
        VERIFIED == Counter()
        and json.loads((project / "reports/tiny/results.json").read_text())["plus"] is None
    )


def test_runs_auto_stops_a_settled_stochastic_system_and_runs_deterministic_once(
    project: Path, calls: Counter[str]
) -> None:
    _task(
        project,
        "{runs: {min: 2, max: 5, half_width: 0.05}, systems: [reference, sto], machine_price_per_hour: 0.1}",
    )
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    # sto always answers right: after its 2 minimum runs the interval is settled; runs 2-4 never generate
    assert sum(v for k, v in calls.items() if k.startswith("sto:")) == 2 * 3
    gen2, _ = read_entries(project / "cache/build/tiny/sto/generate-r2.json")
    assert gen2["stopped"]["reason"] == "settled"
    assert not (project / "cache/build/tiny/reference/generate-r1.json").exists()
    runs = {(s["system"], s["run"]) for s in _samples(project)}
    assert runs == {("reference", 0), ("sto", 0), ("sto", 1)}
    results = json.loads((project / "reports/tiny/results.json").read_text())
    rr = {s["name"]: s for s in results["runs_rule"]["systems"]}
    assert results["runs_rule"]["mode"] == "auto" and results["runs_rule"]["rule"].startswith(
        "runs: auto (2-5 runs"
    )
    assert rr["sto"]["reason"] == "settled" and rr["sto"]["runs"] == 2
    assert rr["reference"]["reason"] == "deterministic" and rr["reference"]["runs"] == 1
    md = (project / "reports/tiny/report.md").read_text()
    assert "## Runs" in md and "| sto | 2 | settled:" in md and "| reference | 1 | deterministic:" in md
    # a no-op rerun generates nothing
    calls.clear()
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    assert sum(calls.values()) == 0
    # a changed rule re-decides: with min 3, run 2 is generated now (runs 0-1 come from the cache)
    t = project / "tasks" / "t.yaml"
    t.write_text(t.read_text().replace("min: 2", "min: 3"))
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    assert calls == Counter({"sto:add:2": 1, "sto:shout:2": 1, "sto:evens:2": 1})
    rr = {
        s["name"]: s
        for s in json.loads((project / "reports/tiny/results.json").read_text())["runs_rule"]["systems"]
    }
    assert rr["sto"]["runs"] == 3 and rr["sto"]["reason"] == "settled"


def test_runs_flag_overrides_auto(project: Path, calls: Counter[str]) -> None:
    _task(project, "{runs: auto, systems: [sto], machine_price_per_hour: 0.1}")
    assert run_doit(["report"], Plan(task_glob="tasks/t.yaml", output="reports", runs=4)) == 0
    assert sum(v for k, v in calls.items() if k.startswith("sto:")) == 4 * 3
    results = json.loads((project / "reports/tiny/results.json").read_text())
    assert (
        results["runs_rule"]["mode"] == "fixed"
        and "--runs overrides runs: auto" in results["runs_rule"]["rule"]
    )
