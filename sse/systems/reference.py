"""The oracle: returns the example's own reference Rust. Scoring it certifies the tests."""

from __future__ import annotations

import time
from typing import Any

from sse.core.records import Completion, Example
from sse.systems.base import AdapterBase, register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec


@register_kind("reference")
class ReferenceAdapter(AdapterBase):
    known_options = frozenset()
    oracle = True  # reads the answer key: certifies the tests, is not a contender, costs nothing
    pricing_basis = "none"

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec

    def fingerprint(self) -> str:
        return "reference/1"

    def is_stochastic(self, decoding: Decoding) -> bool:
        return False

    def unavailable_reason(self) -> str | None:
        return None

    def extra_key(self, example: Example) -> Any:
        return example.rust_reference

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        out = []
        for p in prompts:
            t0 = time.perf_counter()
            ref = p.example.rust_reference
            text = f"```rust\n{ref.rstrip()}\n```\n" if ref else ""
            out.append(Completion(
                system=self.spec.name, example_id=p.example.id, run=p.run, text=text,
                latency_s=time.perf_counter() - t0, cpu_s=0.0, tokens_in=None, tokens_out=None,
                error=None if ref else "example has no reference Rust",
                error_kind=None if ref else "skipped",
            ))
        return out

