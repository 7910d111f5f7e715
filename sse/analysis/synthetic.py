"""A small, realistic-looking input folder (docs/report-inputs.md) for tests, benchmarks and demos.

Outcomes are drawn from per-system skill and per-problem difficulty so that
systems differ credibly; nothing here is a measurement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sse.core.records import Sample, TestOutcome, Verdict
from sse.core.store import content_key


@dataclass(frozen=True)
class SynthSystem:
    name: str
    kind: str
    skill: float  # logit shift
    deterministic: bool
    cost: str  # provider | tokens | machine_time | unpriced
    latency_s: float
    prices: tuple[float, float] | None = None
    price_scale: float = 1.0


DEFAULT_SYSTEMS = (
    SynthSystem("reference", "reference", 9.0, True, "machine_time", 0.001),
    SynthSystem("frontier-large", "cli", 2.0, False, "provider", 6.0),
    SynthSystem("frontier-small", "cli", 1.0, False, "tokens", 2.5, (0.8, 4.0)),
    SynthSystem("local-slm", "native", 0.2, True, "machine_time", 0.9),
    SynthSystem("py2many", "transpiler", -1.0, True, "machine_time", 0.05),
    SynthSystem("mystery-api", "cli", 0.5, False, "unpriced", 3.0),
    SynthSystem("frontier-legacy", "cli", 0.6, False, "provider", 8.0, None, 0.6),
)

# what each synthetic cost model is priced on (an unpriced CLI has token counts but no price)
_BASIS = {"provider": "provider", "tokens": "tokens", "machine_time": "cpu_seconds", "unpriced": "tokens"}
_PY = "def {f}(xs: list[int]) -> int:\n    total = 0\n    for x in xs:\n        total += x * {k}\n    return total\n"
_RS = "pub fn {f}(xs: Vec<i64>) -> i64 {{\n    xs.iter().map(|x| x * {k}).sum()\n}}\n"


def write_inputs(root: Path, *, problems: int = 12, runs: int = 3, seed: int = 7,
                 systems: tuple[SynthSystem, ...] = DEFAULT_SYSTEMS, infra_errors: int = 1,
                 task_id: str = "synthetic") -> Path:
    """Write samples/examples/sources/completions/verdicts/context into `root`; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1.2, problems)
    levels = [1 + (i * 10) // max(problems, 1) for i in range(problems)]
    examples, samples, sources, completions, verdicts = [], [], {}, {}, {}
    for i in range(problems):
        f = f"weighted_sum_{i}"
        py = _PY.format(f=f, k=i + 1)
        ex_key = content_key("example", f, py)
        examples.append({"id": f"ex{i:03d}", "key": ex_key, "level": levels[i], "entry_point": f, "python": py,
                         "rust_signature": f"pub fn {f}(xs: Vec<i64>) -> i64", "tests_total": 3})
    infra_left = infra_errors
    for sy in systems:
        det_draw: dict[int, float] = {}
        for r in range(runs):
            for i, ex in enumerate(examples):
                u = det_draw.setdefault(i, rng.random()) if sy.deterministic else rng.random()
                p = 1 / (1 + np.exp(-(sy.skill - difficulty[i])))
                rust = _RS.format(f=ex["entry_point"], k=i + 1)
                if u < p:
                    status, codes, passed, diag, failing = "pass", (), 3, "", None
                elif u < p + (1 - p) * 0.5:
                    status, codes, passed = "compile_error", ("E0308",) if i % 2 else ("E0425", "E0308"), 0
                    rust = rust.replace("sum()", "sum::<i32>()")
                    diag, failing = "error[E0308]: mismatched types\n --> src/lib.rs:2:5", None
                else:
                    status, codes, passed = "test_failure", (), 1
                    rust = rust.replace("x * ", "x + ")
                    diag, failing = "assertion `left == right` failed", f"test_{ex['entry_point']}_2"
                if infra_left and sy.kind != "reference" and r == 0 and i == 0:
                    status, codes, passed, diag, failing = "infra_error", (), 0, "sandbox failed to start", None
                    infra_left -= 1
                text = f"```rust\n{rust}```\n"
                ckey = content_key("completion", sy.name, ex["id"], r if not sy.deterministic else 0)
                rkey = content_key("rust", rust)
                sources[rkey] = rust
                lat = float(sy.latency_s * (1 if sy.deterministic else rng.lognormal(0, 0.3)))
                tin, tout = (300 + 7 * i, 120 + 3 * i) if sy.kind == "cli" else (None, None)
                dollars = None
                if sy.cost == "provider":
                    dollars = ((tin or 0) * 3e-6 + (tout or 0) * 15e-6) * sy.price_scale
                cpu = lat * 0.9 if sy.cost == "machine_time" else None
                completions[ckey] = {"system": sy.name, "example_id": ex["id"], "run": r, "text": text, "key": ckey,
                                     "tokens_in": tin, "tokens_out": tout, "latency_s": lat}
                tests = tuple(TestOutcome(f"test_{ex['entry_point']}_{t}", "pass" if t < passed else "fail")
                              for t in range(3)) if status in ("pass", "test_failure") else ()
                v = Verdict(status=status, error_codes=codes, tests_passed=passed, tests_total=3,
                            diagnostics=diag, failing_test=failing, tests=tests)
                vkey = content_key("verdict", rkey, status, diag)
                verdicts[vkey] = {**v.to_dict(), "key": vkey}
                s = Sample(task=task_id, system=sy.name, example_id=ex["id"], run=r, level=ex["level"],
                           status=status, completion_key=ckey, verdict_key=vkey, example_key=ex["key"],
                           rust_key=rkey, tests_passed=passed, tests_total=3, tokens_in=tin, tokens_out=tout,
                           latency_s=lat, ttft_s=lat * 0.2 if sy.kind == "cli" else None, cpu_s=cpu,
                           dollars=dollars,
                           cost_source={"provider": "provider", "tokens": "unpriced", "machine_time": "machine_time",
                                        "unpriced": "unpriced"}[sy.cost],  # type: ignore[arg-type]
                           deterministic=sy.deterministic, error_codes=codes)
                samples.append(s.to_dict())
    context: dict[str, Any] = {
        "task": {"id": task_id, "description": "synthetic demo data (not a measurement)", "runs": runs,
                 "machine_price_per_hour": 0.40, "seed": 0, "baseline": None, "bootstrap_resamples": 2000,
                 "decoding": {"temperature": 0.0, "max_tokens": 512}},
        "systems": [{"name": sy.name, "kind": sy.kind, "fingerprint": content_key("fp", sy.name),
                     "deterministic": sy.deterministic, "skipped_reason": None, "version": "1",
                     "local": sy.kind != "cli", "oracle": sy.kind == "reference",
                     "pricing_basis": "none" if sy.kind == "reference" else _BASIS[sy.cost],
                     "prices": {"input_per_mtok": sy.prices[0] if sy.prices else None,
                                "output_per_mtok": sy.prices[1] if sy.prices else None,
                                "date": "2026-11-29" if sy.prices else None,
                                "source": "synthetic" if sy.prices else None}} for sy in systems]
        + [{"name": "absent-model", "kind": "cli", "fingerprint": None, "deterministic": False,
            "skipped_reason": "CLI not installed", "prices": {}, "version": None, "local": False,
            "oracle": False, "pricing_basis": "tokens"}],
        "corpus": {"name": "synthetic", "key": content_key("corpus", [e["key"] for e in examples]),
                   "n_examples": problems},
        "manifest": {"rustc": "rustc 1.95.0 (synthetic)", "git_commit": None},
    }
    _jsonl(root / "samples.jsonl", samples)
    _jsonl(root / "examples.jsonl", examples)
    _jsonl(root / "sources.jsonl", [{"rust_key": k, "rust": v} for k, v in sources.items()])
    _jsonl(root / "completions.jsonl", list(completions.values()))
    _jsonl(root / "verdicts.jsonl", list(verdicts.values()))
    (root / "context.json").write_text(json.dumps(context, indent=1), encoding="utf-8")
    return root


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
