"""The stats, pareto and report stages: build files joined into the report inputs
(docs/report-inputs.md), analysed into results.json, then drawn and rendered."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sse.core.records import Sample, example_from_dict
from sse.core.store import DamagedBuildFile, atomic_write_text
from sse.run import evidence
from sse.run.context import Plan, RunContext, report_dir
from sse.run.shards import gen_entries, gen_target, ver_entries, ver_target
from sse.run.timings import measured, stage_times
from sse.run.verify import rebuild
from sse.systems.base import traits
from sse.task.config import TaskConfig


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def collect(ctx: RunContext, plan: Plan, systems: list[str]) -> dict[str, Any]:
    """Join build files into the report inputs (docs/report-inputs.md)."""
    task = ctx.task
    out_dir = report_dir(plan, task.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    ex_payload = ctx.payload()
    examples = {d["id"]: d for d in ex_payload["examples"]}
    samples: list[dict[str, Any]] = []
    sources: dict[str, str] = {}
    completions: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dict[str, Any]] = {}
    sys_info: list[dict[str, Any]] = []
    gen_errors: dict[str, list[str]] = {}
    for name in systems:
        spec = ctx.spec(name)
        tr = traits(ctx.adapter(name))
        info: dict[str, Any] = {
            "name": name,
            "kind": spec.kind,
            "version": spec.version,
            "prices": asdict(spec.prices),
            "fingerprint": None,
            "deterministic": None,
            "skipped_reason": None,
            "source": spec.source,
            "price_model": tr.price_model,
            "local": tr.local,
            "prompt_style": tr.prompt_style,
            "oracle": tr.oracle,
            **({"pricing_basis": tr.pricing_basis} if tr.pricing_basis else {}),
        }
        det = not ctx.adapter(name).is_stochastic(task.decoding)
        for run in range(evidence.runs_for(task, plan.runs, det)):
            try:
                gen, gens = gen_entries(gen_target(task.id, name, run))
                _, vers = ver_entries(ver_target(task.id, name, run))
            except DamagedBuildFile as e:
                rebuild(ctx, e, name, run)
                gen, gens = gen_entries(gen_target(task.id, name, run))
                _, vers = ver_entries(ver_target(task.id, name, run))
            if gen.get("stopped"):  # runs: auto stopped the system before this run
                break
            info.update(
                fingerprint=gen["fingerprint"],
                deterministic=gen["deterministic"],
                skipped_reason=gen["skipped"],
            )
            if gen["skipped"]:
                break
            comp_by_key = {g.key: g.completion for g in gens}
            for v in vers:
                comp = comp_by_key[v.completion_key]
                ex = examples[v.example_id]
                completions[v.completion_key] = comp.to_dict()
                if v.rust:
                    sources[v.rust_key] = v.rust
                verdict = v.verdict
                if comp.error:
                    gen_errors.setdefault(name, []).append(f"{ex['id']}: {comp.error}")
                if verdict is None:
                    status, vkey = "infra_error", ""
                else:
                    status, vkey = verdict.status, v.key
                    if vkey:
                        verdicts[vkey] = verdict.to_dict()
                plus = evidence.sample_plus_meta(v, ex)
                if v.plus is not None and v.plus.verdict is not None and v.plus.key:
                    verdicts[v.plus.key] = v.plus.verdict.to_dict()
                samples.append(
                    Sample(
                        task=task.id,
                        system=name,
                        example_id=ex["id"],
                        run=run,
                        level=int(ex["level"]),
                        status=status,
                        completion_key=v.completion_key,
                        verdict_key=vkey,
                        example_key=ex["key"],
                        rust_key=v.rust_key,
                        tests_passed=int(verdict.tests_passed) if verdict else 0,
                        tests_total=int(verdict.tests_total) if verdict else len(ex["tests"]),
                        tokens_in=comp.tokens_in,
                        tokens_out=comp.tokens_out,
                        latency_s=float(comp.latency_s or 0.0),
                        ttft_s=comp.ttft_s,
                        cpu_s=comp.cpu_s,
                        dollars=comp.dollars,
                        cost_source=comp.cost_source or "unpriced",
                        deterministic=bool(gen["deterministic"]),
                        error_codes=verdict.error_codes if verdict else (),
                        generation_error=comp.error,
                        meta={"plus": plus} if plus else {},
                    ).to_dict()
                )
        sys_info.append(info)
    _write_jsonl(out_dir / "samples.jsonl", samples)
    _write_jsonl(
        out_dir / "examples.jsonl",
        [
            {
                "id": d["id"],
                "key": d["key"],
                "level": d["level"],
                "entry_point": d["entry_point"],
                "python": d["python"],
                "rust_signature": d.get("rust_signature", ""),
                "tests_total": len(d["tests"]),
                "kind": d.get("kind", "function"),
            }
            for d in ex_payload["examples"]
        ],
    )
    _write_jsonl(out_dir / "sources.jsonl", [{"rust_key": k, "rust": v} for k, v in sources.items()])
    _write_jsonl(out_dir / "completions.jsonl", [c | {"key": k} for k, c in completions.items()])
    _write_jsonl(out_dir / "verdicts.jsonl", list(verdicts.values()))
    context = {
        "task": {
            **{k: v for k, v in asdict(task).items() if k not in ("system_prompt", "user_template")},
            "prompts": {"system": task.system_prompt, "user_template": task.user_template},
            "runs": ctx.runs(plan),
        },
        "systems": sys_info,
        "corpus": ex_payload["corpus"],
        "generation_errors": gen_errors,
        "manifest": manifest(task, sys_info, ex_payload["corpus"]),
        "plus_corpus": ex_payload.get("plus"),
        "runs_rule": evidence.runs_rule(
            task, plan.runs, sys_info, lambda n: evidence.finished_runs(ctx, n, plan.runs or task.runs)[:2]
        ),
        "program_suites": evidence.program_suites(
            [example_from_dict(d) for d in ex_payload["examples"] if d.get("kind") == "program"], ctx.store
        ),
    }
    atomic_write_text(out_dir / "context.json", json.dumps(context, indent=2, default=str))
    return context


def manifest(task: TaskConfig, systems: list[dict[str, Any]], corpus: dict[str, Any]) -> dict[str, Any]:
    """What a reader needs to reproduce the numbers."""
    import platform

    from sse.core.provenance import command_output, git_commit, package_version, package_versions

    return {
        "sse_version": package_version("sse"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(
            (
                "numpy",
                "scipy",
                "doit",
                "diskcache",
                "xxhash",
                "py2many",
                "gguf",
                "tokenizers",
                "matplotlib",
                "jinja2",
            )
        ),
        "rustc": command_output(["rustc", "-vV"]),
        "git_commit": git_commit(Path(__file__).resolve().parent.parent),
        "corpus_key": corpus.get("key"),
        "system_fingerprints": {s["name"]: s["fingerprint"] for s in systems},
        "task_file": task.path,
        "seed": task.seed,
        "decoding": asdict(task.decoding),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_stats(ctx: RunContext, plan: Plan, systems: list[str]) -> None:
    from sse.analysis import analyze

    with measured() as spent:
        collect(ctx, plan, systems)
        out_dir = report_dir(plan, ctx.task.id)
        results = analyze(out_dir)
    # where the time went: every stage before this one as last executed, and this one (but its write)
    results["manifest"]["stages"] = {**stage_times(ctx.task.id, systems), "stats": dict(spent)}
    atomic_write_text(out_dir / "results.json", json.dumps(results, indent=2, default=str))


def run_pareto(ctx: RunContext, plan: Plan) -> None:
    """The frontier section of results.json and its plot (log cost axis, intervals, mixtures)."""
    from sse.report.plot import pareto_svg

    out_dir = report_dir(plan, ctx.task.id)
    results = json.loads((out_dir / "results.json").read_text())
    atomic_write_text(out_dir / "pareto.json", json.dumps(results["pareto"], indent=1))
    atomic_write_text(out_dir / "pareto.svg", pareto_svg(results))


def run_report(ctx: RunContext, plan: Plan) -> None:
    from sse.report import build_report

    out_dir = report_dir(plan, ctx.task.id)
    # results.json belongs to the stats stage: the report only renders it, with the stage times
    # known by now (stats and pareto included); stages.json adds this stage's own once rendered
    with measured() as spent:
        results = json.loads((out_dir / "results.json").read_text())
        manifest = results.setdefault("manifest", {})
        stages = stage_times(ctx.task.id, list(manifest.get("system_fingerprints") or {}))
        manifest["stages"] = stages
        build_report(out_dir, out_dir, formats=("md", "html"), results=results)
    atomic_write_text(out_dir / "stages.json", json.dumps({**stages, "report": dict(spent)}, indent=1))
