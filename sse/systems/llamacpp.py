"""Kind "llamacpp": any GGUF run in-process by llama-cpp-python (optional extra `llamacpp`).

Why: it is what a practitioner would otherwise pick, so it is both a system to
evaluate and the peer the native engine is measured against. The GGUF comes from
the same `source:` forms as `native` (fetched and sha256-checked into the model
cache) or from options.gguf. Prompts are rendered by the project, not by
llama.cpp: the GGUF's chat template through the same sandboxed renderer as
`native`, or the completion prompt for base models, and then tokenised by
llama.cpp itself. Options: n_ctx (default 4096), threads (default: the machine's free cores, chosen at load),
prompt_style (chat|completion). Fingerprint: the GGUF's sha256 + the llama.cpp
(llama-cpp-python) version. Records tokens, TTFT and CPU seconds like `native`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sse.core.errors import SseError, SystemError_
from sse.core.records import Completion
from sse.runtime.llamacpp_peer import llama_cpp_version, quiet_stderr
from sse.systems.base import AdapterBase, count_option, register_kind
from sse.task.prompting import check_prompt_style, render_completion, resolve_style, stop_matcher
from sse.task.spec import Decoding, Prompt, SystemSpec

MISSING = (
    "llama-cpp-python is not installed (pip install 'single-shot-eval[llamacpp]', built with "
    'CMAKE_ARGS="-DGGML_NATIVE=OFF")'
)


@register_kind("llamacpp")
class LlamaCppAdapter(AdapterBase):
    known_options = frozenset({"n_ctx", "threads", "prompt_style", "gguf"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.task = task
        where = f"systems.{spec.name}.options"
        try:
            self.n_ctx = int(spec.options.get("n_ctx", 4096))
        except (TypeError, ValueError) as e:
            raise SystemError_(
                f"bad option ({e})",
                file=spec.registry_file or None,
                field=where,
                fix="n_ctx is an integer",
            ) from e
        self.threads: int | None = count_option(spec, "threads")
        self.requested_style = str(getattr(task, "prompt_style", "auto") or "auto")
        if "prompt_style" in spec.options:
            self.requested_style = check_prompt_style(
                spec.options["prompt_style"],
                file=spec.registry_file or None,
                field=f"{where}.prompt_style",
                allow_auto=False,
            )
        self._gguf: Path | None = None
        self._sha: str | None = None
        self._llm: Any = None
        self._chat: Any = None

    # -- the GGUF ---------------------------------------------------------------------------------
    def gguf(self) -> Path:
        if self._gguf is None:
            explicit = self.spec.options.get("gguf")
            if explicit:
                p = Path(os.path.expanduser(str(explicit)))
                if not p.is_absolute() and self.spec.registry_file:
                    p = Path(self.spec.registry_file).parent / p
                if not p.is_file():
                    raise SystemError_(
                        f"GGUF not found: {p}",
                        file=self.spec.registry_file or None,
                        field=f"systems.{self.spec.name}.options.gguf",
                        fix="fix the path",
                    )
                self._gguf = p
            else:
                from sse.artifacts.fetch import fetch_model

                res = fetch_model(self.spec)
                ggufs = [f for f in res.files if f.suffix == ".gguf"]
                if not ggufs:
                    raise SystemError_(
                        "the source has no .gguf file",
                        file=self.spec.registry_file or None,
                        field=f"systems.{self.spec.name}.source",
                        fix="point source at a GGUF",
                    )
                self._gguf = ggufs[0]
                self._sha = str(
                    res.manifest["files"][
                        next(
                            r
                            for r, i in res.manifest["files"].items()
                            if Path(i["path"]).name == ggufs[0].name
                        )
                    ]["sha256"]
                )
        return self._gguf

    def fingerprint(self) -> str:
        if self._sha is None:
            from sse.artifacts.sources import sha256_file

            self._sha = sha256_file(self.gguf())
        return f"llamacpp:{self._sha}:llama-cpp-python-{llama_cpp_version()}" + (
            f":{self.requested_style}" if "prompt_style" in self.spec.options else ""
        )

    def is_stochastic(self, decoding: Decoding) -> bool:
        return decoding.temperature > 0

    def unavailable_reason(self) -> str | None:
        if llama_cpp_version() is None:
            return MISSING
        try:
            self.gguf()
        except SseError as e:
            return e.one_line()
        return None

    def _loaded(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            from sse.runtime.chat import ChatTemplate
            from sse.runtime.threads import machine_threads

            if self.threads is None:  # chosen once, before this process's own load counts as busy cores
                self.threads = machine_threads()

            try:
                with quiet_stderr():
                    self._llm = Llama(
                        model_path=str(self.gguf()),
                        n_ctx=self.n_ctx,
                        n_threads=self.threads,
                        verbose=False,
                        seed=0,
                    )
            except Exception as e:  # noqa: BLE001 - llama.cpp refuses the file: one line for every prompt
                raise SystemError_(
                    f"llama.cpp cannot load {self.gguf().name} ({e})",
                    file=str(self.gguf()),
                    fix="use a GGUF this llama.cpp version supports",
                ) from e
            md = self._llm.metadata
            vocab = self._llm

            def tok(key: str) -> str:
                i = md.get(key)
                return vocab.detokenize([int(i)], special=True).decode("utf-8", "replace") if i else ""

            self._chat = ChatTemplate(
                md.get("tokenizer.chat_template"),
                bos_token=tok("tokenizer.ggml.bos_token_id"),
                eos_token=tok("tokenizer.ggml.eos_token_id"),
            )
        return self._llm

    @property
    def prompt_style(self) -> str:
        if self.requested_style != "auto":
            return self.requested_style
        try:
            self._loaded()
        except SseError:
            return self.requested_style
        return resolve_style("auto", bool(self._chat.source))

    def extra_key(self, example: Any) -> Any:
        if example.kind != "function" or self.prompt_style != "completion":
            return None
        from sse.task.translate import rust_signature

        return {
            "prompt_style": "completion",
            "text": render_completion(example.python, rust_signature(example)).text,
        }

    def _render(self, p: Prompt) -> tuple[list[int], str, str]:
        llm = self._loaded()
        style = self.prompt_style
        if style == "completion":
            from sse.task.translate import rust_signature

            cp = render_completion(
                p.example.python, rust_signature(p.example) if p.example.kind == "function" else ""
            )
            text, prefix = cp.text, cp.answer_prefix
        else:
            msgs = ([{"role": "system", "content": p.system}] if p.system else []) + [
                {"role": "user", "content": p.user}
            ]
            text, prefix = self._chat.render(msgs, add_generation_prompt=True), ""
        add_bos = bool(llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true")
        ids = list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
        return ids, style, prefix

    # -- generation -------------------------------------------------------------------------------
    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        if not prompts:
            return []
        if llama_cpp_version() is None:
            return [self._error(p, MISSING) for p in prompts]
        try:
            self._loaded()
        except SseError as e:
            return [self._error(p, e.one_line()) for p in prompts]
        return [self._one(p) for p in prompts]

    def _one(self, p: Prompt) -> Completion:
        llm = self._llm
        d = p.decoding
        try:
            ids, style, prefix = self._render(p)
        except Exception as e:  # noqa: BLE001 - a template failure is this prompt's error
            return self._error(p, f"prompt rendering failed: {e}")
        if len(ids) >= self.n_ctx:
            return self._error(p, f"prompt of {len(ids)} tokens exceeds n_ctx {self.n_ctx}")
        matcher = stop_matcher(getattr(d, "stop_policy", "none"), style)
        budget = min(d.max_tokens, self.n_ctx - len(ids))
        import llama_cpp

        def is_eog(tok: int) -> bool:
            return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok))

        cpu0, t0 = time.process_time(), time.perf_counter()
        ttft = 0.0
        out: list[int] = []
        text, finish = "", "max_tokens"
        try:
            llm.reset()
            llm.set_seed(int(d.seed) & 0x7FFFFFFF)
            with quiet_stderr():
                # min_p=0 and top_k: no sampler beyond what the decoding asks (greedy at temperature 0)
                for tok in llm.generate(
                    ids,
                    temp=d.temperature,
                    top_p=d.top_p,
                    min_p=0.0,
                    top_k=0 if d.temperature > 0 else 1,
                    reset=True,
                ):
                    if not out:
                        ttft = time.perf_counter() - t0
                    if is_eog(int(tok)):
                        finish = "eos"
                        break
                    out.append(int(tok))
                    text = llm.detokenize(out).decode("utf-8", "replace")
                    cut = min([i for s in d.stop if s and (i := text.find(s)) >= 0], default=None)
                    end = matcher.feed(text) if matcher is not None else None
                    if cut is not None or end is not None:
                        text = text[: min(x for x in (cut, end) if x is not None)]
                        finish = "stop"
                        break
                    if len(out) >= budget:
                        break
        except Exception as e:  # noqa: BLE001 - a llama.cpp failure is this prompt's error
            return self._error(p, f"llama.cpp: {type(e).__name__}: {e}")
        wall = time.perf_counter() - t0
        if finish != "stop":
            text = llm.detokenize(out).decode("utf-8", "replace")
        return Completion(
            system=self.spec.name,
            example_id=p.example.id,
            run=p.run,
            text=prefix + text,
            tokens_in=len(ids),
            tokens_out=len(out),
            latency_s=wall,
            ttft_s=ttft,
            cpu_s=time.process_time() - cpu0,
            dollars=None,
            cost_source="machine_time",
            meta={
                "finish_reason": finish,
                "tokens_per_s": round(len(out) / wall, 3) if wall else 0.0,
                "prompt_style": style,
                "llama_cpp": llama_cpp_version(),
                "threads": self.threads,
            },
        )

    def _error(self, p: Prompt, msg: str) -> Completion:
        return Completion(
            system=self.spec.name, example_id=p.example.id, run=p.run, text="", error=msg, error_kind="crash"
        )
