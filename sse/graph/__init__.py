"""The doit task graph: the one module that imports doit.

Stages (see `doit list`): corpus -> [fetch -> convert -> validate] -> generate -> verify
-> stats -> pareto -> report. Tasks are coarse (per task, system and run); the
content-addressed store makes the work inside them per example, so an edit to
one example recomputes that example only.

Build files live in cache/build/<task>/ (format: sse.run.shards); they carry the completions
and verdicts themselves, so an evicted store entry never breaks a later stage. A generate or
verify task is also out of date when one of the store entries it lists has gone (deleted or
evicted): that entry, and only it, is recomputed.

`PlanLoader` (a doit TaskLoader2) is handed the Plan directly; `run_doit` is what `sse evaluate`
calls; dodo.py builds its Plan from SSE_* variables for the `doit` command line.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from doit.cmd_base import NamespaceTaskLoader
from doit.tools import config_changed

from sse.core.store import cache_root, content_key, doit_state_file
from sse.exec import Judge
from sse.graph.portable_state import BACKEND_LOCATION, BACKEND_NAME, backend_available
from sse.run import evidence
from sse.run.collect import run_pareto, run_report, run_stats
from sse.run.context import Plan, RunContext, StoreSession, build_dir, report_dir
from sse.run.corpus import corpus_files, run_corpus
from sse.run.generate import run_generate
from sse.run.shards import BUILD_FORMAT, gen_target, store_has_all, ver_target
from sse.run.timings import run_timed
from sse.run.verify import run_verify
from sse.systems.base import clear_adapters, kind_class
from sse.task.config import TaskConfig, load_task, load_tasks, systems_for

STAGE_DOCS = {
    "corpus": "load and confirm corpora",
    "fetch": "fetch model files (sha256-checked, pickle-free)",
    "convert": "convert models to .apr (KL-gated)",
    "validate": "validate .apr (checksums, logits)",
    "generate": "completions per system and run",
    "verify": "verdicts: compile + tests in a sandbox",
    "stats": "samples.jsonl, intervals, paired tests, costs, frontiers -> results.json",
    "pareto": "the Pareto frontier table and plot",
    "report": "report.md / report.html",
}


# ------------------------------------------------------------------ the process's run state
class _Session:
    """What the graph's actions share in one process: the store session, one RunContext per
    task file, and the judge a test substitutes. Reset by `run_doit`."""

    def __init__(self, judge: Judge | None = None) -> None:
        self.store = StoreSession()
        self.judge = judge
        self.contexts: dict[str, RunContext] = {}

    def context(self, task_path: str) -> RunContext:
        if task_path not in self.contexts:
            self.contexts[task_path] = RunContext(
                task=load_task(task_path), session=self.store, judge=self.judge
            )
        return self.contexts[task_path]


_SESSION = _Session()


def _ctx(task_path: str) -> RunContext:
    return _SESSION.context(task_path)


# ------------------------------------------------------------------ actions (module level: doit -n pickles them)
def _corpus(task_path: str) -> None:
    run_corpus(_ctx(task_path))


def _generate(task_path: str, system: str, run: int, auto: bool | None = None) -> None:
    run_generate(_ctx(task_path), system, run, auto)


def _verify(task_path: str, system: str, run: int) -> None:
    run_verify(_ctx(task_path), system, run)


def _stats(task_path: str, plan_json: str, systems: list[str]) -> None:
    run_stats(_ctx(task_path), Plan.from_json(plan_json), systems)


def _pareto(task_path: str, plan_json: str) -> None:
    run_pareto(_ctx(task_path), Plan.from_json(plan_json))


def _report(task_path: str, plan_json: str) -> None:
    run_report(_ctx(task_path), Plan.from_json(plan_json))


ACTIONS: dict[str, Callable[..., None]] = {
    "corpus": _corpus,
    "generate": _generate,
    "verify": _verify,
    "stats": _stats,
    "pareto": _pareto,
    "report": _report,
}


def guarded(action: str, *args: Any) -> bool:
    """Run a stage action by name; an SseError becomes its one line instead of doit's traceback."""
    from sse.core.errors import run_guarded

    return run_guarded(ACTIONS[action], *args)


def _store_has_all(target: str, namespace: str, task: Any = None, values: Any = None) -> bool:
    """doit up-to-date check: every store entry the build file lists is still in the store."""
    return store_has_all(Path(target), namespace, _SESSION.store.keys())


# ------------------------------------------------------------------ the graph
def _static_fingerprint(ctx: RunContext, name: str) -> str:
    """What identifies a system at graph-load time (the kind may answer without building an adapter)."""
    spec = ctx.spec(name)
    static = kind_class(spec.kind).static_identity(spec)
    if static is not None:
        return static
    try:
        adapter = ctx.adapter(name)
        reason = adapter.unavailable_reason()
        fp = adapter.fingerprint() if reason is None else f"unavailable: {reason}"
    except Exception as e:  # noqa: BLE001 - the generate task will report it properly
        fp = f"error: {e}"
    return content_key(fp, asdict(spec.prices), spec.kind, spec.source, spec.options)


def model_stage_deps(task: TaskConfig, name: str) -> list[str]:
    """file_deps a system's generation needs beyond the examples (e.g. a validated .apr)."""
    spec = systems_for(task, [name])[0]
    return kind_class(spec.kind).stage_deps(spec)


def _auto_deps(ctx: RunContext, plan: Plan, systems: list[str]) -> Callable[[str, int], list[str]]:
    """file_deps of a stochastic system's run under `runs: auto`: the previous run's verdicts (its
    decision reads them) and, for a paired target, every run of the baseline."""
    task = ctx.task
    if not evidence.auto_active(task, plan.runs):
        return lambda name, run: []
    rule = task.auto_runs
    base: list[str] = []
    if rule is not None and rule.paired_half_width is not None and task.baseline in systems:
        b = str(task.baseline)
        det = not ctx.adapter(b).is_stochastic(task.decoding)
        base = [str(ver_target(task.id, b, r)) for r in range(evidence.runs_for(task, plan.runs, det))]

    def deps(name: str, run: int) -> list[str]:
        prev = [str(ver_target(task.id, name, run - 1))] if run > 0 else []
        return prev + (base if name != task.baseline and run > 0 else [])

    return deps


def iter_doit_tasks(plan: Plan) -> Iterator[dict[str, Any]]:
    tasks = load_tasks(plan.task_glob)
    plan_json = plan.to_json()
    stage_done: set[str] = set()
    for task in tasks:
        ctx = _SESSION.contexts.setdefault(
            task.path, RunContext(task=task, session=_SESSION.store, judge=_SESSION.judge)
        )
        systems = [s.name for s in systems_for(task, list(plan.models) or None)]
        examples_json = str(build_dir(task.id) / "examples.json")
        examples_seal = str(build_dir(task.id) / "examples.keys")  # changes with it; cheap for doit to hash
        yield {
            "basename": "corpus",
            "name": task.id,
            "actions": [(_corpus, [task.path])],
            "file_dep": [*corpus_files(task), task.path],
            "targets": [examples_json, examples_seal],
            "doc": "load the corpus and confirm every expected value by running the Python",
        }
        for name in systems:
            spec = ctx.spec(name)
            if name not in stage_done:
                stage_done.add(name)
                yield from kind_class(spec.kind).stage_tasks(spec)
        ver_targets: list[str] = []
        prompt_key = content_key(
            task.system_prompt, task.user_template, asdict(task.decoding), task.prompt_style
        )
        verify_key = content_key(asdict(task.ground_truth))
        auto = evidence.auto_active(task, plan.runs)
        auto_deps = _auto_deps(ctx, plan, systems)
        for name in systems:
            fp = _static_fingerprint(ctx, name)
            det = not ctx.adapter(name).is_stochastic(task.decoding)
            for run in range(evidence.runs_for(task, plan.runs, det)):
                gen_t, ver_t = gen_target(task.id, name, run), ver_target(task.id, name, run)
                dep0 = [f"generate:{task.id}:{name}:r0"] if det and run > 0 else []
                yield {
                    "basename": "generate",
                    "name": f"{task.id}:{name}:r{run}",
                    "actions": [(_generate, [task.path, name, run, auto])],
                    "file_dep": [
                        examples_seal,
                        *model_stage_deps(task, name),
                        *(auto_deps(name, run) if not det else []),
                    ],
                    "targets": [str(gen_t)],
                    "task_dep": dep0,
                    "uptodate": [
                        config_changed(
                            content_key(
                                BUILD_FORMAT, fp, prompt_key, run, *evidence.rule_key(task, plan.runs, det)
                            )
                        ),
                        (_store_has_all, [str(gen_t), "completion"], {}),
                    ],
                    "doc": f"completions of {name}, run {run}"
                    + (" (copy of run 0: deterministic)" if dep0 else ""),
                }
                yield {
                    "basename": "verify",
                    "name": f"{task.id}:{name}:r{run}",
                    "actions": [(_verify, [task.path, name, run])],
                    "file_dep": [str(gen_t), examples_seal],
                    "targets": [str(ver_t)],
                    "task_dep": [f"verify:{task.id}:{name}:r0"] if det and run > 0 else [],
                    "uptodate": [
                        config_changed(content_key(BUILD_FORMAT, verify_key)),
                        (_store_has_all, [str(ver_t), "verdict"], {}),
                    ],
                    "doc": f"compile and test {name}'s Rust, run {run}",
                }
                ver_targets.append(str(ver_t))
        rdir = report_dir(plan, task.id)
        yield {
            "basename": "stats",
            "name": task.id,
            "actions": [(_stats, [task.path, plan_json, systems])],
            "file_dep": [examples_json, *ver_targets],
            "targets": [str(rdir / "samples.jsonl"), str(rdir / "results.json")],
            # the task's settings too: analysis.seed, baseline, prices change the statistics only
            "uptodate": [config_changed(content_key(plan_json, systems, asdict(task)))],
            "doc": "samples.jsonl, intervals, comparisons, costs and Pareto frontiers -> results.json",
        }
        yield {
            "basename": "pareto",
            "name": task.id,
            "actions": [(_pareto, [task.path, plan_json])],
            "file_dep": [str(rdir / "results.json")],
            "targets": [str(rdir / "pareto.json"), str(rdir / "pareto.svg")],
            "doc": "the Pareto frontier table and plot",
        }
        yield {
            "basename": "report",
            "name": task.id,
            "actions": [(_report, [task.path, plan_json])],
            "file_dep": [str(rdir / "results.json"), str(rdir / "pareto.json")],
            "targets": [str(rdir / "report.md"), str(rdir / "report.html")],
            "doc": "report.md and report.html",
        }


def creators_for(plan: Plan) -> dict[str, Any]:
    """task_* creators, grouped by stage so `doit list` shows the stages."""
    from sse.core.errors import SseError, print_error

    try:
        all_tasks = list(iter_doit_tasks(plan))
    except SseError as e:
        print_error(e)
        raise SystemExit(2) from None
    names = {fn: name for name, fn in ACTIONS.items()}
    for t in all_tasks:
        if "actions" in t:
            t["actions"] = [
                (guarded, [names[a[0]], *a[1]]) if isinstance(a, tuple) and a[0] in names else a
                for a in t["actions"]
            ]
            # where the time goes: each execution leaves its wall and CPU seconds (sse.run.timings)
            t["actions"] = [
                (run_timed, [t["basename"], t["name"], a[0], *a[1]], *a[2:]) if isinstance(a, tuple) else a
                for a in t["actions"]
            ]
    by_base: dict[str, list[dict[str, Any]]] = {}
    for t in all_tasks:
        by_base.setdefault(t["basename"], []).append(t)
    creators: dict[str, Any] = {}
    for base, items in by_base.items():

        def creator(items: list[dict[str, Any]] = items, base: str = base) -> Iterator[dict[str, Any]]:
            yield {"basename": base, "name": None, "doc": STAGE_DOCS.get(base, base)}
            for t in items:
                yield {k: v for k, v in t.items() if k != "basename"}

        creator.__doc__ = STAGE_DOCS.get(base, base)
        creators[f"task_{base}"] = creator
    return creators


def prepare_cache() -> None:
    """doit opens its state file before any task runs: make the cache folder first (a read-only
    place is fine: doit_state_file() then gives doit a private copy)."""
    with contextlib.suppress(OSError):
        cache_root().mkdir(parents=True, exist_ok=True)


def doit_config(portable: bool | None = None) -> dict[str, Any]:
    """`portable`: doit's state in sse.graph.portable_state (paths kept relative, so a moved cache
    serves); by default when doit can find that backend, else doit's own sqlite3 (same file)."""
    portable = backend_available() if portable is None else portable
    return {
        "default_tasks": ["report"],
        "dep_file": str(doit_state_file()),
        "backend": BACKEND_NAME if portable else "sqlite3",
        "verbosity": 1,
    }


class PlanLoader(NamespaceTaskLoader):  # a doit TaskLoader2
    """doit's task loader, handed the Plan directly (no plan through environment variables)."""

    def __init__(self, plan: Plan, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.doit_cfg = config

    def load_doit_config(self) -> dict[str, Any]:
        return self.doit_cfg if self.doit_cfg is not None else doit_config()

    def load_tasks(self, cmd: Any, pos_args: list[str]) -> list[Any]:
        if self.namespace is None:
            self.namespace = creators_for(self.plan)
        return super().load_tasks(cmd, pos_args)  # type: ignore[no-any-return]


def plan_from_env() -> Plan:
    """The Plan of the `doit` command line (dodo.py): SSE_TASKS, SSE_MODELS, SSE_RUNS, SSE_OUTPUT."""
    models = tuple(m for m in os.environ.get("SSE_MODELS", "").split(",") if m)
    runs = os.environ.get("SSE_RUNS")
    return Plan(
        task_glob=os.environ.get("SSE_TASKS", Plan.task_glob),
        models=models,
        runs=int(runs) if runs else None,
        output=os.environ.get("SSE_OUTPUT", "reports"),
    )


def reset(judge: Judge | None = None) -> None:
    """A fresh run state: the store closed, tasks and adapters reloaded; `judge` replaces the scorers (tests)."""
    global _SESSION
    _SESSION.store.close()
    _SESSION = _Session(judge)
    clear_adapters()


def run_doit(args: list[str], plan: Plan | None = None, judge: Judge | None = None) -> int:
    """Run the graph in-process (what `sse evaluate` does); `judge` replaces the scorers (tests)."""
    from doit.doit_cmd import DoitMain

    reset(judge)
    prepare_cache()
    # doit binds its output stream to sys.stdout at import time; give it the current one.
    config = dict(doit_config(portable=True), outfile=sys.stdout)
    plugins = {"BACKEND": {BACKEND_NAME: BACKEND_LOCATION}}  # also in pyproject.toml for the doit command
    return int(
        DoitMain(PlanLoader(plan if plan is not None else plan_from_env(), config), extra_config=plugins).run(
            args
        )
    )


__all__ = [
    "ACTIONS",
    "STAGE_DOCS",
    "Plan",
    "PlanLoader",
    "doit_config",
    "guarded",
    "iter_doit_tasks",
    "plan_from_env",
    "prepare_cache",
    "reset",
    "run_doit",
    "creators_for",
]
