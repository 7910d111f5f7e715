"""Kind "native": a small model converted to .apr and run by the numpy engine.

Options (tasks/models.yaml): quantization (f32|f16|q8_0|q4_0, default q8_0),
batch_size (sequences decoded together; default sized to the machine's cores and
free memory), threads (BLAS threads; default $SSE_NATIVE_THREADS, else the free cores),
prompt_style (chat|completion; default: the task's `prompts.style`, whose `auto`
means chat for models with a chat template and completion for base models),
apr (an explicit .apr path, skipping fetch/convert), gate (threshold overrides).

Generation is continuous batching (sse.runtime.generate): the pipeline hands over
QUEUE_FACTOR x batch_size prompts per call so that finished slots are refilled.
The fingerprint is what determines the answers (sse.artifacts.stages.output_key: weights,
tokenizer, chat template, engine version), not the .apr's bytes, plus an explicit prompt_style.
Dollars stay None: the analysis prices the measured machine time (cpu_s, latency_s).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sse.core.errors import SseError
from sse.core.records import Completion
from sse.core.store import content_key
from sse.systems.base import AdapterBase, count_option, register_kind
from sse.task.prompting import (
    check_completion_allowed,
    check_prompt_style,
    render_completion,
    resolve_style,
    stop_matcher,
)
from sse.task.spec import Decoding, Prompt, SystemSpec

QUEUE_FACTOR = 4  # prompts per generate() call, per slot: a longer queue keeps slots busy


@dataclass(frozen=True)
class _Rendered:
    ids: list[int]
    style: str
    answer_prefix: str = ""


@register_kind("native")
class NativeAdapter(AdapterBase):
    known_options = frozenset({"quantization", "gate", "batch_size", "threads", "prompt_style", "apr"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.task = task
        where = f"systems.{spec.name}.options"
        self.slots: int | None = count_option(spec, "batch_size")
        self.threads: int | None = count_option(spec, "threads")
        self.requested_style: str = str(getattr(task, "prompt_style", "auto") or "auto")
        self.style_option: str | None = None
        if "prompt_style" in spec.options:
            self.style_option = check_prompt_style(
                spec.options["prompt_style"],
                file=spec.registry_file or None,
                field=f"{where}.prompt_style",
                allow_auto=False,
            )
            self.requested_style = self.style_option
        gt = getattr(getattr(task, "ground_truth", None), "type", "compiler")
        check_completion_allowed(
            self.requested_style,
            gt,
            file=(spec.registry_file if self.style_option else getattr(task, "path", None)) or None,
            field=f"{where}.prompt_style" if self.style_option else "prompts.style",
        )
        self._apr: Path | None = None
        self._fp: str | None = None
        self._model: Any = None
        self._prefixes: Any = None
        self._auto_style: str | None = None
        self.last_tokens_per_s: float | None = None

    # -- the .apr ---------------------------------------------------------------------------------
    def apr(self) -> Path:
        if self._apr is None:
            from sse.artifacts.stages import ensure_apr

            self._apr = ensure_apr(self.spec, hold=True)  # not evicted while this evaluation runs
        return self._apr

    def fingerprint(self) -> str:
        if self._fp is None:
            from sse.artifacts.stages import output_key

            self._fp = f"native:{output_key(self.apr())}" + (
                f":{self.style_option}" if self.style_option else ""
            )
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
            from sse.runtime.kvcache import PrefixCache
            from sse.runtime.loader import load_native

            self._model = load_native(self.apr(), verify_tensors=False)  # validated by its stage
            self._prefixes = PrefixCache()
        return self._model

    # -- sizing -----------------------------------------------------------------------------------
    @functools.cached_property
    def _machine_slots(self) -> int:
        from sse.runtime.kvcache import machine_slots

        nm = self._loaded()
        longest = min(
            nm.config.max_position_embeddings,
            1024 + int(getattr(getattr(self.task, "decoding", None), "max_tokens", 512)),
        )
        return machine_slots(nm.model, longest, threads=self.threads)

    @property
    def n_slots(self) -> int:
        return self.slots if self.slots is not None else self._machine_slots

    @property
    def batch_size(self) -> int:
        """Prompts per generate() call (what the pipeline reads): a queue longer than the slots."""
        return QUEUE_FACTOR * self.n_slots

    # -- prompts ----------------------------------------------------------------------------------
    @property
    def prompt_style(self) -> str:
        """The style this system's prompts get (what the report shows)."""
        if self.requested_style != "auto":
            return self.requested_style
        if self._auto_style is None:
            from sse.runtime.apr import AprFile

            try:
                template = AprFile(self.apr(), verify_tensors=False).metadata.get("chat_template")
            except SseError:  # no model here: nothing was prompted
                return self.requested_style
            self._auto_style = resolve_style("auto", bool(template))
        return self._auto_style

    # -- graph-time knowledge: a native model is identified by its validated .apr (a file dep) -------
    @classmethod
    def static_identity(cls, spec: SystemSpec) -> str | None:
        """Never convert at graph load: the registry entry identifies it, the .apr is a file dep."""
        return content_key("native", asdict(spec.prices), spec.source, spec.options)

    @classmethod
    def stage_deps(cls, spec: SystemSpec) -> list[str]:
        from sse.artifacts.stages import validated_path

        return [str(validated_path(spec))]

    @classmethod
    def stage_tasks(cls, spec: SystemSpec) -> Iterator[dict[str, Any]]:
        from sse.artifacts.stages import doit_model_tasks

        return doit_model_tasks(spec)

    def extra_key(self, example: Any) -> Any:
        """A completion prompt is not the task's chat text: its own text joins the generation key."""
        if example.kind != "function" or self.prompt_style != "completion":
            return None
        from sse.task.translate import rust_signature

        return {
            "prompt_style": "completion",
            "text": render_completion(example.python, rust_signature(example)).text,
        }

    def render(self, p: Prompt) -> _Rendered:
        nm = self._loaded()
        style = self.prompt_style
        if style == "completion":
            from sse.task.translate import rust_signature

            cp = render_completion(
                p.example.python, rust_signature(p.example) if p.example.kind == "function" else ""
            )
            return _Rendered(nm.tokenizer.encode(cp.text), style, cp.answer_prefix)
        msgs = ([{"role": "system", "content": p.system}] if p.system else []) + [
            {"role": "user", "content": p.user}
        ]
        return _Rendered(nm.tokenizer.encode(nm.chat.render(msgs, add_generation_prompt=True)), style)

    # -- generation -------------------------------------------------------------------------------
    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        from sse.runtime.generate import GenRequest, generate

        if not prompts:
            return []
        try:
            nm = self._loaded()
        except SseError as e:
            return [self._error(p, e.one_line()) for p in prompts]
        out: list[Completion | None] = [None] * len(prompts)
        todo: list[tuple[int, _Rendered, GenRequest]] = []
        for i, p in enumerate(prompts):
            d = p.decoding
            try:
                rendered = self.render(p)
            except Exception as e:  # noqa: BLE001 - a template or signature failure is this prompt's error
                out[i] = self._error(p, f"prompt rendering failed: {e}")
                continue
            policy = getattr(d, "stop_policy", "none")
            todo.append(
                (
                    i,
                    rendered,
                    GenRequest(
                        tuple(rendered.ids),
                        max_tokens=d.max_tokens,
                        temperature=d.temperature,
                        top_p=d.top_p,
                        seed=d.seed,
                        stop=tuple(d.stop),
                        matcher=functools.partial(stop_matcher, policy, rendered.style),
                    ),
                )
            )
        if todo:
            try:
                if self.threads is None:  # chosen once, before this process's own load counts as busy cores
                    from sse.runtime.threads import machine_threads

                    self.threads = machine_threads()
                results = generate(
                    nm.model,
                    nm.tokenizer,
                    [r for *_, r in todo],
                    nm.eos_ids,
                    threads=self.threads,
                    slots=self.n_slots,
                    prefixes=self._prefixes,
                )
            except Exception as e:  # noqa: BLE001 - e.g. a prompt longer than the context
                results = None
                for i, *_ in todo:
                    out[i] = self._error(prompts[i], f"{type(e).__name__}: {e}")
            if results is not None:
                wall = max((r.wall_s for r in results), default=0.0)
                made = sum(r.tokens_out for r in results)
                self.last_tokens_per_s = made / wall if wall > 0 else None
                for (i, rendered, _), r in zip(todo, results, strict=True):
                    p = prompts[i]
                    out[i] = Completion(
                        system=self.spec.name,
                        example_id=p.example.id,
                        run=p.run,
                        text=rendered.answer_prefix + r.text,
                        tokens_in=r.tokens_in,
                        tokens_out=r.tokens_out,
                        latency_s=r.wall_s,
                        ttft_s=r.ttft_s,
                        cpu_s=r.cpu_s,
                        dollars=None,
                        cost_source="machine_time",
                        meta={
                            "finish_reason": r.finish_reason,
                            "tokens_per_s": round(r.tokens_per_s, 3),
                            "prompt_style": rendered.style,
                            "stop_policy": getattr(p.decoding, "stop_policy", "none"),
                            "slots": self.n_slots,
                            "threads": self.threads,
                            "quantization": nm.metadata.get("quantization"),
                        },
                    )
        return [c if c is not None else self._error(prompts[i], "not generated") for i, c in enumerate(out)]

    def _error(self, p: Prompt, msg: str) -> Completion:
        return Completion(
            system=self.spec.name, example_id=p.example.id, run=p.run, text="", error=msg, error_kind="crash"
        )
