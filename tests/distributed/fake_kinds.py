"""Adapter kinds for the cluster tests: imported by the test process and preloaded by each
`dask worker --preload` (a worker only knows the kinds its process registered)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sse.core.records import Completion
from sse.systems.base import register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec

KIND = "dist-fake"


class FakeAdapter:
    """mode good: the reference Rust; broken: a compile error; nocode: prose. Optional delay per prompt
    and a marker file per prompt started (`<pid>-<example>-<run>`) so tests can see where work ran."""

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.mode = str(spec.options.get("mode", "good"))
        self.delay = float(spec.options.get("delay_s", 0.0))
        self.markers = spec.options.get("marker_dir")

    def fingerprint(self) -> str:
        return f"{KIND}/{self.mode}"

    def is_stochastic(self, decoding: Decoding) -> bool:
        return bool(self.spec.options.get("stochastic", False))

    def unavailable_reason(self) -> str | None:
        return None

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        out = []
        for p in prompts:
            if self.markers:
                (Path(self.markers) / f"{os.getpid()}-{p.example.id}-{p.run}").touch()
            time.sleep(self.delay)
            if self.mode == "good":
                text = f"```rust\n{p.example.rust_reference}\n```"
            elif self.mode == "broken":
                text = f"```rust\npub fn {p.example.entry_point}( -> {{ }}\n```"
            else:
                text = "I cannot translate this."
            out.append(Completion(system=self.spec.name, example_id=p.example.id, run=p.run, text=text,
                                  tokens_in=len(p.user.split()), tokens_out=len(text.split()), latency_s=self.delay))
        return out


register_kind(KIND)(lambda spec, task: FakeAdapter(spec, task))
