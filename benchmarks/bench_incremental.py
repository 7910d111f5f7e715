"""How much work the graph does when little changed.

Grid: 10 stochastic systems x 5 runs x 1,000 examples (50,000 completions and
verdicts) with an instant fake system and a stubbed verifier, so what is timed
is the graph, the store and the bookkeeping, not models or rustc. Each phase
runs in a fresh process, as a user's `doit` would:

  cold      empty cache
  noop      nothing changed (target: < 5 s)
  change1   one example's Python edited (target: < 2x noop)

Run: .venv/bin/python benchmarks/bench_incremental.py [--examples 1000 --systems 10 --runs 5]
     [--stage verify|report]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any


def make_project(root: Path, n_examples: int, n_systems: int, runs: int) -> None:
    (root / "tasks").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as f:
        for i in range(n_examples):
            f.write(json.dumps({
                "id": f"ex{i:05d}", "entry_point": f"f{i}",
                "python": f"def f{i}(x: int) -> int:\n    return x + {i}\n",
                "tests": [{"args": "0"}, {"args": "1"}, {"args": "-7"}],
                "rust": f"pub fn f{i}(x: i64) -> i64 {{ x + {i} }}",
            }) + "\n")
    systems = "\n".join(f"  s{j}: {{kind: bench-fake}}" for j in range(n_systems))
    (root / "tasks" / "models.yaml").write_text(f"systems:\n{systems}\n")
    names = ", ".join(f"s{j}" for j in range(n_systems))
    (root / "tasks" / "bench.yaml").write_text(textwrap.dedent(f"""\
        task: {{id: bench, corpus: ../corpus.jsonl}}
        evaluation: {{runs: {runs}, systems: [{names}], machine_price_per_hour: 0.1}}
        prompts: {{system: "Translate.", user_template: "{{python_code}}"}}
        ground_truth: {{type: compiler}}
        analysis: {{bootstrap_resamples: 1000}}
        """))


def phase(root: Path, stage: str) -> None:
    """Body of one timed phase (runs in a fresh process)."""
    from sse.core.records import Completion, Verdict
    from sse.graph import run_doit
    from sse.run.context import Plan
    from sse.systems.base import AdapterBase, register_kind

    class Fake(AdapterBase):
        def __init__(self, spec: Any, task: Any) -> None:
            self.spec = spec
            self.batch_size = 256

        def fingerprint(self) -> str:
            return "bench-fake/1"

        def is_stochastic(self, decoding: Any) -> bool:
            return True

        def unavailable_reason(self) -> str | None:
            return None

        def generate(self, prompts: list[Any]) -> list[Completion]:
            return [Completion(system=self.spec.name, example_id=p.example.id, run=p.run,
                               text=f"```rust\n{p.example.rust_reference}\n```", tokens_in=10, tokens_out=10,
                               latency_s=0.0, cpu_s=0.0) for p in prompts]

    register_kind("bench-fake")(Fake)

    def stub(reqs: list[Any]) -> list[Verdict]:
        return [Verdict(status="pass", tests_passed=3, tests_total=3) for _ in reqs]

    os.chdir(root)
    rc = run_doit(["-v", "0", stage], Plan(task_glob="tasks/bench.yaml", output="reports"), judge=stub)
    if rc != 0:
        raise SystemExit(rc)


def timed(root: Path, stage: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one phase; CPU (user + system of the phase and its children) is the
    steadier figure on a shared machine, where wall time mostly measures the other users."""
    env = dict(os.environ, SSE_CACHE_DIR=str(root / "cache"), SSE_BENCH_PHASE="1")
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--phase", str(root), "--stage", stage], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--systems", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stage", default="verify", choices=["verify", "stats", "report"])
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:
        phase(Path(a.phase), a.stage)
        return
    with tempfile.TemporaryDirectory(prefix="sse-bench-") as tmp:
        root = Path(tmp)
        make_project(root, a.examples, a.systems, a.runs)
        n = a.examples * a.systems * a.runs
        print(f"grid: {a.systems} systems x {a.runs} runs x {a.examples} examples = {n:,} samples; "
              f"stage `{a.stage}`; fake system, stubbed verifier; fresh process per phase")
        cold, cold_cpu = timed(root, a.stage)
        noop, noop_cpu = timed(root, a.stage)
        corpus = root / "corpus.jsonl"
        lines = corpus.read_text().splitlines()
        lines[a.examples // 2] = lines[a.examples // 2].replace("return x +", "return 0 + x +")
        corpus.write_text("\n".join(lines) + "\n")
        change, change_cpu = timed(root, a.stage)
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"cold            {cold:8.2f} s   cpu {cold_cpu:8.2f} s")
        print(f"no-op rerun     {noop:8.2f} s   cpu {noop_cpu:8.2f} s   (target < 5 s: {'met' if noop < 5 else 'NOT met'})")
        print(f"change 1 example{change:8.2f} s   cpu {change_cpu:8.2f} s   = {change / noop:.2f}x no-op wall, "
              f"{change_cpu / noop_cpu:.2f}x no-op cpu (target < 2x: {'met' if change < 2 * noop else 'NOT met'})")
        print(f"cold / no-op    {cold / noop:8.1f}x")

if __name__ == "__main__":
    main()
