"""The `sse` / `single-shot-eval` command.

`evaluate` drives the same doit graph as `doit report`; the other subcommands
come from the packages that own them (each module exposes `register`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from sse import __version__
from sse.core.errors import SseError, print_error

# Modules that add subcommands: register(subparsers) -> None.
COMMAND_MODULES: tuple[str, ...] = (
    "sse.cli.verify_commands",         # verify
    "sse.cli.program_commands",  # program-certify, program-judge
    "sse.cli.plus_commands",     # corpus-plus
    "sse.cli.corpus_commands",         # corpus-stats, benchmark
    "sse.cli.import_commands",  # corpus import humaneval
    "sse.cli.report_commands",         # report
    "sse.cli.model_commands",      # models list|fetch|evict|validate
    "sse.cli.cache_commands",          # cache check|repair
)


def _evaluate(args: argparse.Namespace) -> int:
    from sse.graph import run_doit
    from sse.run.context import Plan, report_dir
    from sse.task.config import load_tasks, systems_for

    models = [m for m in (args.models or "").split(",") if m]
    baselines = [b for b in (args.baselines or "").split(",") if b]
    tasks = load_tasks(args.tasks)
    if args.max_cost is not None:
        from sse.systems.budget import Budget

        Budget.activate(args.max_cost)  # a fresh ledger for this evaluation, shared with doit's workers
    for task in tasks:  # validate everything before any work starts
        names = (models or list(task.systems)) + [b for b in baselines if b not in (models or task.systems)]
        systems_for(task, names)
    all_models = models
    if baselines:
        all_models = list(dict.fromkeys((models or list(tasks[0].systems)) + baselines))
    plan = Plan(task_glob=args.tasks, models=tuple(all_models), runs=args.runs, output=args.output)
    _precheck_corpora(tasks)
    if args.scheduler:
        import os

        from sse.exec import configure_executor

        os.environ["SSE_SCHEDULER"] = args.scheduler  # doit's worker processes read it too
        configure_executor(args.scheduler)  # an unreachable scheduler fails here, before any work
    doit_args = ["report"] if args.jobs <= 1 else ["-n", str(args.jobs), "report"]
    if args.verbose:
        doit_args = ["--verbosity", "2", *doit_args]
    try:
        rc = run_doit(doit_args, plan)
    except KeyboardInterrupt:
        print("sse: interrupted; finished samples are cached, rerun the same command to resume", file=sys.stderr)
        return 130
    if rc != 0:
        print("sse: the evaluation graph failed (see the task output above); finished work is cached",
              file=sys.stderr)
        return rc
    bad = 0
    for task in tasks:
        rdir = report_dir(plan, task.id)
        ctx = json.loads((rdir / "context.json").read_text())
        for s in ctx["systems"]:
            if s.get("skipped_reason"):
                print(f"sse: {task.id}: system {s['name']} skipped: {s['skipped_reason']}", file=sys.stderr)
        for name, errs in ctx.get("generation_errors", {}).items():
            bad += 1
            print(f"sse: {task.id}: system {name} failed to answer in {len(errs)} sample(s), e.g. {errs[0]} "
                  f"(timeouts count as failures; other errors are excluded as infra_error and retried on rerun)",
                  file=sys.stderr)
        print(f"{task.id}: report in {rdir}/report.md")
    return 1 if bad else 0


def _precheck_corpora(tasks: list[object]) -> None:
    from sse.task.corpus import load_corpus

    for t in tasks:
        load_corpus(t.corpus)  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sse", description="single-shot-eval: verified Python->Rust evaluation")
    p.add_argument("--version", action="version", version=f"sse {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ev = sub.add_parser("evaluate", help="run the evaluation graph for tasks x systems x runs")
    ev.add_argument("--tasks", default="tasks/python-to-rust.yaml", help="task YAML file or glob")
    ev.add_argument("--models", default="", help="comma-separated registry names (default: the task's systems)")
    ev.add_argument("--baselines", default="", help="extra systems to add, e.g. claude,gemini")
    ev.add_argument("--runs", type=int, default=None, help="runs per system (default: the task's)")
    ev.add_argument("--output", default="reports", help="report folder (default: reports)")
    ev.add_argument("--max-cost", type=float, default=None, help="stop remote calls once this many USD are spent")
    ev.add_argument("-j", "--jobs", type=int, default=1, help="doit tasks in parallel")
    ev.add_argument("--scheduler", default=None,
                    help="run generate/verify batches on a Dask cluster, e.g. tcp://127.0.0.1:8786 "
                         "(default: $SSE_SCHEDULER, else this machine)")
    ev.add_argument("-v", "--verbose", action="store_true")
    ev.set_defaults(func=_evaluate)
    for mod in COMMAND_MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod:
                continue
            raise
        m.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SseError as e:
        print_error(e)
        return e.exit_code
    except KeyboardInterrupt:
        print("sse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Path", "build_parser", "main"]
