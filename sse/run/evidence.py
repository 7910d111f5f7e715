"""The run layer's part of the stronger evidence (issue 18): plus cases and `runs: auto`.

Kept apart from the stages so each stage only calls in:

- corpus: a function row carries its stored plus set (`_plus/<id>.json`, fresh only; never generated
  here: `sse corpus-plus` does that) when `ground_truth.plus` is on;
- verify: an answer that passes base is judged a second time with the plus cases appended, under its
  own verdict key (so identical Rust + tests are still compiled once, and the base verdict is the one
  it always was); an answer that fails base fails base+plus without another compile;
- collect: each sample's `meta["plus"]`, the corpus's plus counts, the program suites' stored mutation
  scores, and the runs rule with each system's reason to stop;
- generate: under `runs: auto`, run r of a stochastic system first asks `sequential.decide` about
  runs 0..r-1 and is not generated when the rule says stop; deterministic systems run once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from sse.core.entries import GenEntry, VerifyEntry
from sse.core.records import Example
from sse.core.store import Store, content_key
from sse.run.context import RunContext
from sse.task.config import TaskConfig
from sse.task.spec import SystemSpec


# ------------------------------------------------------------------ plus cases
def corpus_plus(
    task: TaskConfig, corpus_path: str, examples: Sequence[Example]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(example id -> the row's `plus` value, the corpus-level summary) for a function corpus."""
    from sse.task.corpus.plus import load_plus, plus_to_row

    funcs = [e for e in examples if e.kind == "function"]
    if not task.ground_truth.plus or not funcs:
        return {}, {
            "enabled": bool(task.ground_truth.plus),
            "examples": 0,
            "with_plus": 0,
            "plus_cases": 0,
            "stale": 0,
        }
    fresh, stale = load_plus(corpus_path, funcs)
    rows = {eid: plus_to_row(ps) for eid, ps in fresh.items() if ps.tests}
    return rows, {
        "enabled": True,
        "examples": len(funcs),
        "with_plus": len(rows),
        "plus_cases": sum(len(r["tests"]) for r in rows.values()),
        "base_cases": sum(len(e.tests) for e in funcs),
        "stale": len(stale),
        "how": "sse corpus-plus --corpus CORPUS (stored in _plus/; missing or stale sets are not used)",
    }


def plus_digest(rows: Iterable[dict[str, Any]]) -> str:
    """What every plus set of a corpus payload is: part of the verify config, so a new set re-verifies."""
    # the cases themselves, not only the key of what they were generated from: a set regenerated or
    # edited under the same key must still re-verify
    return content_key(
        "plus-sets", sorted((r["id"], r["plus"]["key"], r["plus"]["tests"]) for r in rows if r.get("plus"))
    )


def plus_example(row: dict[str, Any], example: Example) -> Example | None:
    """The example with its plus cases appended, or None when its row has none."""
    from sse.task.corpus.plus import plus_from_row, with_plus

    p = row.get("plus")
    return with_plus(example, plus_from_row(example.id, p)) if p else None


def wants_plus(entry: VerifyEntry, row: dict[str, Any]) -> bool:
    """A verify entry whose answer passed base and whose example has plus cases not yet judged."""
    pv = entry.plus.verdict if entry.plus is not None else None
    return bool(row.get("plus")) and entry.status == "pass" and (pv is None or pv.status == "infra_error")


def sample_plus_meta(entry: VerifyEntry, row: dict[str, Any]) -> dict[str, Any] | None:
    """`Sample.meta["plus"]`: the plus verdict of a function answer, the differential plus cases of a
    program's verdict, `not_run` for an answer that failed base; None when there are no plus cases."""
    v = entry.verdict
    p = row.get("plus")
    if p:
        n = len(p["tests"])
        if entry.plus is not None and entry.plus.verdict is not None:
            pv = entry.plus.verdict
            return {
                "status": pv.status,
                "passed": int(pv.tests_passed),
                "total": int(pv.tests_total),
                "cases": n,
                "verdict_key": entry.plus.key,
            }
        if v is not None and v.status != "pass":
            return {"status": "not_run", "cases": n, "why": "base failed, so base+plus fails"}
        return None
    prog = v.meta.get("plus") if v is not None and isinstance(v.meta, dict) else None
    if isinstance(prog, dict) and "status" in prog:
        return {
            "status": prog["status"],
            "passed": prog.get("passed"),
            "total": prog.get("total"),
            "cases": prog.get("total"),
        }
    return None


def program_suites(examples: Sequence[Example], store: Store) -> dict[str, Any] | None:
    """The stored mutation scores and differential plus sets of a program corpus (None otherwise)."""
    if not any(e.kind == "program" for e in examples):
        return None
    from sse.scorers.programs import stored_suite_evidence

    return stored_suite_evidence(examples, store)


# ------------------------------------------------------------------ runs: auto
def finished_runs(
    ctx: RunContext, system: str, upto: int
) -> tuple[list[dict[str, float]], list[float], dict[str, Any] | None]:
    """Outcome maps and dollars of a system's runs before `upto` that were generated, and the
    decision of the first run that `runs: auto` stopped (None when none was)."""
    from sse.core.store import DamagedBuildFile
    from sse.run.shards import gen_entries, gen_target, ver_entries, ver_target

    task, spec = ctx.task, ctx.spec(system)
    runs: list[dict[str, float]] = []
    dollars: list[float] = []
    for r in range(upto):
        try:
            gen, gens = gen_entries(gen_target(task.id, system, r))
            _, vers = ver_entries(ver_target(task.id, system, r))
        except (FileNotFoundError, DamagedBuildFile):
            break
        if gen.get("stopped"):
            return runs, dollars, gen["stopped"]
        if gen.get("skipped"):
            break
        runs.append(outcomes(vers))
        dollars.append(run_dollars(gens, spec, task.price_table))
    return runs, dollars, None


def auto_stop(ctx: RunContext, system: str, run: int, adapter: Any) -> dict[str, Any] | None:
    """Under `runs: auto`, the decision that stops a stochastic system before `run` (None: go on)."""
    task = ctx.task
    if run == 0 or task.auto_runs is None or not adapter.is_stochastic(task.decoding):
        return None
    runs, dollars, stopped = finished_runs(ctx, system, run)
    if stopped is not None:
        return stopped
    base: list[dict[str, float]] = []
    if task.auto_runs.paired_half_width is not None and task.baseline not in (None, system):
        base = finished_runs(ctx, str(task.baseline), task.runs)[0]
    d = decision(task, False, runs, dollars, base)
    return decision_dict(d) if d.stop else None


def runs_for(task: TaskConfig, plan_runs: int | None, deterministic: bool) -> int:
    """How many runs a system gets at most: `--runs N` fixes it; under `runs: auto` a deterministic
    system runs once (its runs would be copies), a stochastic one up to the rule's max_runs."""
    if plan_runs:
        return plan_runs
    if task.auto_runs is not None and deterministic:
        return 1
    return task.runs


def auto_active(task: TaskConfig, plan_runs: int | None) -> bool:
    return task.auto_runs is not None and not plan_runs


def rule_key(task: TaskConfig, plan_runs: int | None, deterministic: bool) -> list[Any]:
    """What a stochastic run's up-to-date check adds under `runs: auto`: the rule, so a changed rule
    re-decides the runs it stopped (nothing otherwise, so other keys stay as they were)."""
    if task.auto_runs is None or deterministic or not auto_active(task, plan_runs):
        return []
    return [asdict(task.auto_runs)]


def outcomes(ver_entries: Sequence[VerifyEntry]) -> dict[str, float]:
    """example id -> 1 (pass) / 0 (fail) of one run; harness failures are left out."""
    out: dict[str, float] = {}
    for e in ver_entries:
        if e.status is None or e.status == "infra_error":
            continue
        out[e.example_id] = 1.0 if e.status == "pass" else 0.0
    return out


def run_dollars(gen_entries: Sequence[GenEntry], spec: SystemSpec, price_table: str | None) -> float:
    """What one run cost: the dollars each answer reports, else its tokens at the system's prices
    (registry, then price table). Local machine time is not counted: the budget is for paid systems."""
    from sse.analysis import costs

    table = costs.load_price_table(price_table) if price_table else None
    price = costs.system_price(
        {"name": spec.name, "prices": asdict(spec.prices), "model": spec.options.get("model")}, table
    )
    total = 0.0
    for g in gen_entries:
        c = g.completion
        if c.dollars is not None:
            total += float(c.dollars)
            continue
        split = costs.token_dollars(c.tokens_in, c.tokens_out, price)
        if split is not None:
            total += sum(split)
    return total


def decision(
    task: TaskConfig,
    deterministic: bool,
    runs: Sequence[dict[str, float]],
    dollars: Sequence[float],
    baseline: Sequence[dict[str, float]] = (),
) -> Any:
    """`sequential.decide` on per-run outcome maps (problems are the union of ids seen)."""
    from sse.analysis.sequential import decide

    assert task.auto_runs is not None
    problems = sorted({p for r in [*runs, *baseline] for p in r})
    x = (
        np.array([[r.get(p, math.nan) for p in problems] for r in runs])
        if runs
        else np.empty((0, len(problems)))
    )
    b = np.array([[r.get(p, math.nan) for p in problems] for r in baseline]) if baseline else None
    return decide(task.auto_runs, x, deterministic=deterministic, dollars_per_run=list(dollars), baseline=b)


def decision_dict(d: Any) -> dict[str, Any]:
    def f(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    return {
        "action": d.action,
        "reason": d.reason,
        "detail": d.detail,
        "runs": d.runs,
        "half_width": f(d.half_width),
        "next_half_width": f(d.next_half_width),
        "floor_half_width": f(d.floor_half_width),
        "spent_dollars": d.spent_dollars,
    }


def runs_rule(
    task: TaskConfig,
    plan_runs: int | None,
    systems: list[dict[str, Any]],
    finished: Callable[[str], tuple[list[dict[str, float]], list[float]]],
) -> dict[str, Any]:
    """The context's `runs_rule`: the rule in words and, per system, its runs and why it stopped.

    `finished(name)` gives the system's completed runs (outcome maps) and their dollars."""
    out: list[dict[str, Any]] = []
    auto = auto_active(task, plan_runs)
    base_runs = (
        finished(task.baseline)[0]
        if auto and task.baseline and any(s["name"] == task.baseline for s in systems)
        else []
    )
    for s in systems:
        if s.get("skipped_reason"):
            out.append(
                {
                    "name": s["name"],
                    "runs": 0,
                    "reason": "skipped",
                    "detail": str(s["skipped_reason"]),
                    "half_width": None,
                    "spent_dollars": 0.0,
                }
            )
            continue
        runs, dollars = finished(s["name"])
        det = bool(s.get("deterministic"))
        if auto:
            paired = base_runs if s["name"] != task.baseline else []
            d = decision_dict(decision(task, det, runs, dollars, paired))
            if d["action"] == "continue":  # the graph ran out of runs first (the rule's max was lowered?)
                d.update(reason="max_runs", detail=f"{d['detail']}; no further run was scheduled")
            out.append({"name": s["name"], **d, "runs": len(runs)})
        else:
            n = runs_for(task, plan_runs, det)
            out.append(
                {
                    "name": s["name"],
                    "runs": len(runs),
                    "reason": "fixed",
                    "detail": f"{n} run(s) as configured"
                    + ("; deterministic: one generation copied to every run" if det else ""),
                    "half_width": None,
                    "spent_dollars": float(sum(dollars)),
                }
            )
    rule = (
        task.auto_runs.describe()
        if auto and task.auto_runs
        else (
            f"fixed: {plan_runs or task.runs} run(s) per system"
            + (" (--runs overrides runs: auto)" if plan_runs and task.auto_runs else "")
        )
    )
    return {"mode": "auto" if auto else "fixed", "rule": rule, "systems": out}
