"""Kind "native": a small model converted to .apr and run by the numpy engine.

Options (tasks/models.yaml): quantization (f32|f16|q8_0|q4_0, default q8_0),
batch_size (default 8), threads (BLAS threads, default $SSE_NATIVE_THREADS or 1),
apr (an explicit .apr path, skipping fetch/convert), gate (threshold overrides).
The fingerprint is the xxh3_128 of the .apr file. Dollars stay None: the analysis
prices the measured machine time (cpu_s, latency_s).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sse.core.errors import SseError, SystemError_
from sse.core.records import Completion
from sse.core.store import file_key
from sse.systems.base import register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec


class NativeAdapter:
    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.task = task
        try:
            self.batch_size = max(1, int(spec.options.get("batch_size", 8)))
            self.threads = spec.options.get("threads")
            self.threads = None if self.threads is None else max(1, int(self.threads))
        except (TypeError, ValueError) as e:
            raise SystemError_(f"bad option ({e})", file=spec.registry_file or None,
                               field=f"systems.{spec.name}.options", fix="batch_size/threads are integers") from e
        self._apr: Path | None = None
        self._fp: str | None = None
        self._model: Any = None

    # -- the .apr ---------------------------------------------------------------------------------
    def apr(self) -> Path:
        if self._apr is None:
            from sse.artifacts.stages import ensure_apr

            self._apr = ensure_apr(self.spec)
        return self._apr

    def fingerprint(self) -> str:
        if self._fp is None:
            self._fp = f"native:{file_key(self.apr())}"
        return self._fp

    def is_stochastic(self, decoding: Decoding) -> bool:
        return decoding.temperature > 0

    def unavailable_reason(self) -> str | None:
        try:
            self.apr()
        except SseError as e:
            return e.one_line()
        return None

    def _loaded(self) -> Any:
        if self._model is None:
            from sse.runtime.loader import load_native

            self._model = load_native(self.apr(), verify_tensors=False)  # validated by its stage
        return self._model

    # -- generation -------------------------------------------------------------------------------
    def render(self, p: Prompt) -> list[int]:
        nm = self._loaded()
        msgs = ([{"role": "system", "content": p.system}] if p.system else []) + [{"role": "user", "content": p.user}]
        return nm.tokenizer.encode(nm.chat.render(msgs, add_generation_prompt=True))

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        from sse.runtime.generate import GenRequest, generate

        if not prompts:
            return []
        try:
            nm = self._loaded()
        except SseError as e:
            return [self._error(p, e.one_line()) for p in prompts]
        out: list[Completion | None] = [None] * len(prompts)
        reqs: list[tuple[int, GenRequest]] = []
        for i, p in enumerate(prompts):
            d = p.decoding
            try:
                ids = self.render(p)
            except Exception as e:  # noqa: BLE001 - template failure is this prompt's error
                out[i] = self._error(p, f"chat template failed: {e}")
                continue
            reqs.append((i, GenRequest(tuple(ids), max_tokens=d.max_tokens, temperature=d.temperature,
                                       top_p=d.top_p, seed=d.seed, stop=tuple(d.stop))))
        # Similar lengths share a batch (less padding); results go back in prompt order.
        reqs.sort(key=lambda r: len(r[1].prompt_ids))
        for b in range(0, len(reqs), self.batch_size):
            chunk = reqs[b: b + self.batch_size]
            cpu0 = time.process_time()
            try:
                results = generate(nm.model, nm.tokenizer, [r for _, r in chunk], nm.eos_ids, threads=self.threads)
            except Exception as e:  # noqa: BLE001 - e.g. prompt longer than the context
                for i, _ in chunk:
                    out[i] = self._error(prompts[i], f"{type(e).__name__}: {e}")
                continue
            cpu = time.process_time() - cpu0
            work = sum(r.tokens_in + r.tokens_out for r in results) or 1
            for (i, _), r in zip(chunk, results, strict=True):
                p = prompts[i]
                out[i] = Completion(
                    system=self.spec.name, example_id=p.example.id, run=p.run, text=r.text,
                    tokens_in=r.tokens_in, tokens_out=r.tokens_out, latency_s=r.wall_s, ttft_s=r.ttft_s,
                    cpu_s=cpu * (r.tokens_in + r.tokens_out) / work, dollars=None, cost_source="machine_time",
                    meta={"finish_reason": r.finish_reason, "tokens_per_s": round(r.tokens_per_s, 3),
                          "batch_size": len(chunk), "batch_cpu_s": round(cpu, 4),
                          "quantization": nm.metadata.get("quantization")})
        return [c if c is not None else self._error(prompts[i], "not generated") for i, c in enumerate(out)]

    def _error(self, p: Prompt, msg: str) -> Completion:
        return Completion(system=self.spec.name, example_id=p.example.id, run=p.run, text="", error=msg,
                          error_kind="crash")


@register_kind("native")
def _make(spec: SystemSpec, task: Any) -> NativeAdapter:
    return NativeAdapter(spec, task)
