"""Read a reports/<task>/ input folder (docs/report-inputs.md) into typed records.

Analysis and the report read only these files, so a report can be rebuilt from
saved records without running anything. Bad lines give a one-line error naming
the file, the line and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sse.analysis.costs import BASES, LOCAL_COST_BASES
from sse.core.errors import SseError
from sse.core.records import VERDICT_STATUSES, Sample


class ReportInputError(SseError):
    """A report input file is missing or malformed."""


@dataclass
class Inputs:
    """Everything in one input folder. Only `samples` and `context` are required."""

    root: Path
    samples: list[Sample]
    context: dict[str, Any]
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    completions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def task(self) -> dict[str, Any]:
        return dict(self.context.get("task") or {})

    @property
    def systems_meta(self) -> dict[str, dict[str, Any]]:
        return {str(s.get("name")): dict(s) for s in self.context.get("systems") or [] if s.get("name")}


def _read_jsonl(path: Path, required: bool) -> list[dict[str, Any]]:
    if not path.exists():
        if required:
            raise ReportInputError("file not found", file=str(path),
                                   fix="point --input at a reports/<task>/ folder written by `sse evaluate`")
        return []
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportInputError(f"invalid JSON: {e.msg}", file=f"{path}:{i}", field=f"column {e.colno}",
                                       fix="rerun the pipeline to rewrite this file") from None
            if not isinstance(obj, dict):
                raise ReportInputError("expected a JSON object per line", file=f"{path}:{i}",
                                       fix="rerun the pipeline to rewrite this file")
            out.append(obj)
    return out


_SAMPLE_REQUIRED = ("system", "example_id", "run", "level", "status")


def _sample(d: dict[str, Any], where: str) -> Sample:
    for k in _SAMPLE_REQUIRED:
        if k not in d:
            raise ReportInputError("missing key", file=where, field=k, fix="write Sample.to_dict() lines")
    if d["status"] not in VERDICT_STATUSES:
        raise ReportInputError(f"unknown status {d['status']!r}", file=where, field="status",
                               fix=f"use one of {', '.join(VERDICT_STATUSES)}")
    defaults: dict[str, Any] = {
        "task": "", "completion_key": "", "verdict_key": "", "example_key": "", "rust_key": "",
        "tests_passed": 0, "tests_total": 0, "tokens_in": None, "tokens_out": None, "latency_s": 0.0,
        "ttft_s": None, "cpu_s": None, "dollars": None, "cost_source": "unpriced", "deterministic": False,
    }
    full = {**defaults, **d}
    try:
        s = Sample.from_dict(full)
        int(s.run)
        int(s.level)
        float(s.latency_s or 0.0)
    except (TypeError, ValueError) as e:
        raise ReportInputError(f"bad sample: {e}"[:160], file=where, fix="write Sample.to_dict() lines") from None
    return s


def _check_amount(v: Any, where: str, field: str, unit: str) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0):
        raise ReportInputError(f"expected a non-negative number, got {v!r}", file=where, field=field,
                               fix=f"give {unit}, e.g. 0.5")


def check_context(context: dict[str, Any], where: str) -> None:
    """The per-system and task fields that decide how costs are read (absent = an older input)."""
    systems = context.get("systems") or []
    if not isinstance(systems, list) or not all(isinstance(s, dict) for s in systems):
        raise ReportInputError("expected a list of objects", file=where, field="systems", fix="rerun the pipeline")
    for i, s in enumerate(systems):
        basis = s.get("pricing_basis")
        if basis is not None and basis not in BASES:
            raise ReportInputError(f"unknown pricing basis {basis!r}", file=where, field=f"systems[{i}].pricing_basis",
                                   fix=f"use one of {', '.join(BASES)}")
        for key in ("local", "oracle"):
            if s.get(key) is not None and not isinstance(s[key], bool):
                raise ReportInputError(f"expected true or false, got {s[key]!r}", file=where,
                                       field=f"systems[{i}].{key}", fix="write a JSON boolean")
        prices = s.get("prices") or {}
        for key in ("input_per_mtok", "output_per_mtok"):
            _check_amount(prices.get(key) if isinstance(prices, dict) else prices, where,
                          f"systems[{i}].prices.{key}", "USD per million tokens")
    _check_amount((context.get("task") or {}).get("machine_price_per_hour"), where, "task.machine_price_per_hour",
                  "USD per hour")
    lcb = (context.get("task") or {}).get("local_cost_basis")
    if lcb is not None and lcb not in LOCAL_COST_BASES:
        raise ReportInputError(f"unknown local cost basis {lcb!r}", file=where, field="task.local_cost_basis",
                               fix=f"use one of {', '.join(LOCAL_COST_BASES)}")


def load_inputs(input_dir: Path) -> Inputs:
    """Load and validate an input folder."""
    root = Path(input_dir)
    if not root.is_dir():
        raise ReportInputError("input folder not found", file=str(root),
                               fix="give --input reports/<task> (the folder holding samples.jsonl)")
    samples_path = root / "samples.jsonl"
    raw = _read_jsonl(samples_path, required=True)
    samples = [_sample(d, f"{samples_path}:{i}") for i, d in enumerate(raw, 1)]
    ctx_path = root / "context.json"
    context: dict[str, Any] = {}
    if ctx_path.exists():
        try:
            context = json.loads(ctx_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ReportInputError(f"invalid JSON: {e.msg} at line {e.lineno}", file=str(ctx_path),
                                   fix="rerun the pipeline to rewrite context.json") from None
        if not isinstance(context, dict):
            raise ReportInputError("expected a JSON object", file=str(ctx_path), fix="rerun the pipeline")
        check_context(context, str(ctx_path))
    if not samples and not context.get("systems"):
        # systems that were all skipped still make a report (it says why); nothing at all does not
        raise ReportInputError("no samples", file=str(samples_path), fix="run `sse evaluate` first")
    examples = {}
    for i, d in enumerate(_read_jsonl(root / "examples.jsonl", required=False), 1):
        if "id" not in d:
            raise ReportInputError("missing key", file=f"{root / 'examples.jsonl'}:{i}", field="id",
                                   fix="write one object per example with an id")
        examples[str(d["id"])] = d
    sources = {str(d.get("rust_key", "")): str(d.get("rust", "")) for d in _read_jsonl(root / "sources.jsonl", False)}
    verdicts = {str(d.get("key", "")): d for d in _read_jsonl(root / "verdicts.jsonl", False)}
    completions = {str(d.get("key", "")): d for d in _read_jsonl(root / "completions.jsonl", False)}
    return Inputs(root=root, samples=samples, context=context, examples=examples, sources=sources,
                  verdicts=verdicts, completions=completions)
