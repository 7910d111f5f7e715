"""Benchmark: `runs: auto` through the real pipeline, against a fixed 10 runs, on priced stochastic stand-ins.

A stand-in is a `command` system (a script, no model) that answers each bundled function with the
corpus's reference Rust with a per-problem probability, else with no code; each answer reports
600 tokens in and 400 out, priced at $3 / $15 per million tokens (a frontier-priced stand-in,
$1.12 a run over 144 problems). Two stand-ins (the same profiles as bench_auto_runs.py):
"mostly-settled" (most problems always pass or always fail) and "noisy" (every problem uncertain).

Each stand-in is evaluated with `runs: auto` (the task's rule) and then with `--runs 10` (sharing
the cache, so the fixed runs' first answers are the auto runs'). Printed per stand-in: runs used,
why it stopped, the rule's half-width and the report's 95% interval, auto vs fixed, and dollars
auto vs fixed with the saving.

Run: .venv/bin/python benchmarks/bench_runs_auto_pipeline.py [--half-width 0.03] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

STANDIN = r"""
import hashlib, json, sys
cfg = json.load(open(sys.argv[1]))
job = json.loads(sys.stdin.read())
eid, run = job["example_id"], int(job["run"])
u = int(hashlib.sha256(f"{cfg['seed']}:{eid}:{run}".encode()).hexdigest()[:12], 16) / 16**12
text = "```rust\n" + cfg["rust"][eid] + "\n```" if u < cfg["p"][eid] else "I cannot translate this."
print(json.dumps({"text": text, "tokens_in": 600, "tokens_out": 400}))
"""


def stand_in(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-problem pass probabilities (as in bench_auto_runs.py)."""
    if kind == "mostly-settled":
        k = rng.choice(3, size=n, p=[0.55, 0.25, 0.20])
        return np.where(k == 0, 0.97, np.where(k == 1, 0.03, rng.uniform(0.2, 0.8, n)))
    return rng.uniform(0.3, 0.7, n)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--half-width", type=float, default=0.03)
    ap.add_argument("--min", type=int, default=3)
    ap.add_argument("--max", type=int, default=10)
    ap.add_argument(
        "--work", default=None, help="folder for the task, stand-ins and reports (default: a temp one)"
    )
    args = ap.parse_args()
    from sse.graph import run_doit
    from sse.run.context import Plan
    from sse.task.corpus import load_corpus

    work = Path(args.work or tempfile.mkdtemp(prefix="sse-auto-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SSE_CACHE_DIR", str(work / "cache"))
    corpus = load_corpus("bundled:functions")
    rust = {e.id: e.rust_reference for e in corpus.examples}
    (work / "standin.py").write_text(STANDIN)
    reg = ["systems:"]
    kinds = ("mostly-settled", "noisy")
    for i, kind in enumerate(kinds):
        p = stand_in(kind, len(corpus.examples), np.random.default_rng(100 + i))
        cfg = {
            "seed": i,
            "rust": rust,
            "p": {e.id: float(x) for e, x in zip(corpus.examples, p, strict=True)},
        }
        (work / f"{kind}.json").write_text(json.dumps(cfg))
        reg.append(
            f"  {kind}:\n    kind: command\n    prices: {{input_per_mtok: 3.0, output_per_mtok: 15.0, "
            f"date: 2026-01-01, source: stand-in}}\n    options: {{argv: [{sys.executable}, "
            f"{work / 'standin.py'}, {work / f'{kind}.json'}], stdin: json, stdout: json, local: false, "
            f"concurrency: 2}}"
        )
    (work / "models.yaml").write_text("\n".join(reg) + "\n")
    (work / "task.yaml").write_text(
        textwrap.dedent(f"""\
        task: {{id: auto-standins, corpus: bundled:functions}}
        evaluation:
          runs: {{min: {args.min}, max: {args.max}, half_width: {args.half_width}}}
          systems: [{", ".join(kinds)}]
          registry: models.yaml
          machine_price_per_hour: 0.0832
        prompts: {{system: "Translate.", user_template: "{{python_code}}\\n{{rust_signature}}"}}
        ground_truth: {{type: compiler}}
        analysis: {{bootstrap_resamples: 2000}}
        """)
    )
    out = {}
    for mode, runs in (("auto", None), ("fixed", 10)):
        plan = Plan(task_glob=str(work / "task.yaml"), output=str(work / f"reports-{mode}"), runs=runs)
        if run_doit(["report"], plan) != 0:
            print(f"{mode}: the evaluation failed", file=sys.stderr)
            return 1
        out[mode] = json.loads((work / f"reports-{mode}" / "auto-standins" / "results.json").read_text())
    print(f"rule: {out['auto']['runs_rule']['rule']}")
    print(
        f"{'stand-in':<16} {'runs':>4} {'stopped because':<19} {'rule half-width auto / 10':>26} "
        f"{'report 95% interval auto / fixed 10':>44} {'dollars auto / 10':>18} {'saved':>6}"
    )
    for kind in kinds:
        ra = {s["name"]: s for s in out["auto"]["runs_rule"]["systems"]}[kind]
        rf = {s["name"]: s for s in out["fixed"]["runs_rule"]["systems"]}[kind]
        sa = {s["name"]: s for s in out["auto"]["systems"]}[kind]
        sf = {s["name"]: s for s in out["fixed"]["systems"]}[kind]
        fixed_half = _rule_half_width(work / "reports-fixed" / "auto-standins" / "samples.jsonl", kind)
        ia, iff = sa["interval"], sf["interval"]
        print(
            f"{kind:<16} {ra['runs']:>4} {ra['reason']:<19} {ra['half_width']:>12.4f} / {fixed_half:.4f} "
            f"{sa['accuracy']:>9.3f} [{ia['lo']:.3f}, {ia['hi']:.3f}] / {sf['accuracy']:.3f} "
            f"[{iff['lo']:.3f}, {iff['hi']:.3f}] {ra['spent_dollars']:>9.2f} / {rf['spent_dollars']:.2f} "
            f"{1 - ra['spent_dollars'] / rf['spent_dollars']:>6.0%}"
        )
    return 0


def _rule_half_width(samples: Path, kind: str) -> float:
    """The rule's half-width (sequential.decide, as the run layer computes it) over a report's runs."""
    from sse.analysis.sequential import decide
    from sse.task.spec import AutoRuns

    rows: dict[int, dict[str, float]] = {}
    for line in samples.read_text().splitlines():
        s = json.loads(line)
        if s["system"] == kind and s["status"] != "infra_error":
            rows.setdefault(s["run"], {})[s["example_id"]] = 1.0 if s["status"] == "pass" else 0.0
    problems = sorted({p for r in rows.values() for p in r})
    x = np.array([[rows[r].get(p, np.nan) for p in problems] for r in sorted(rows)])
    return decide(AutoRuns(min_runs=len(rows), max_runs=len(rows), half_width=1e-9), x).half_width


if __name__ == "__main__":
    raise SystemExit(main())
