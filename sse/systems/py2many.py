"""py2many, the rule-based transpiler from PyPI, as a baseline system.

It runs as a subprocess on the example's Python source (not the prompt). Its
cost is its measured CPU time (user+sys of the child, from wait4) priced at
the task's machine rate by the analysis.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sse.core import proc
from sse.core.records import Completion
from sse.systems.base import AdapterBase, register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec


@register_kind("py2many")
class Py2ManyAdapter(AdapterBase):
    known_options = frozenset({"workers", "timeout_s"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.workers = int(spec.options.get("workers", 2))
        self.timeout_s = float(spec.options.get("timeout_s", 60))
        self._exe = [sys.executable, "-m", "py2many"]
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                self._version = version("py2many")
            except PackageNotFoundError:
                self._version = ""
        return self._version

    def fingerprint(self) -> str:
        return f"py2many/{self.version()}"

    def is_stochastic(self, decoding: Decoding) -> bool:
        return False

    def unavailable_reason(self) -> str | None:
        if not self.version():
            return "py2many is not installed (pip install py2many==0.9)"
        want = self.spec.version
        if want and want != self.version():
            return f"py2many {self.version()} is installed but the registry pins {want}"
        return None

    def _one(self, p: Prompt) -> Completion:
        with tempfile.TemporaryDirectory(prefix="sse-py2many-") as tmp:
            src = Path(tmp) / f"{p.example.entry_point or 'main'}.py"
            src.write_text(p.example.python, encoding="utf-8")
            r = proc.run(self._exe + ["--rust", "--outdir", "out", src.name], cwd=tmp, timeout_s=self.timeout_s)
            rs = Path(tmp) / "out" / (src.stem + ".rs")
            text = rs.read_text(encoding="utf-8", errors="replace") if rs.exists() else ""
            base = dict(system=self.spec.name, example_id=p.example.id, run=p.run, latency_s=r.wall_s,
                        cpu_s=r.cpu_s, meta={"stderr_tail": r.err_text[-400:]})
            if r.spawn_error:  # the harness could not start it: not py2many's answer
                return Completion(text="", error=f"py2many: {r.spawn_error}", error_kind="crash", **base)
            if r.timed_out:
                return Completion(text="", error=f"py2many timed out after {self.timeout_s:g}s",
                                  error_kind="timeout", **base)
            # py2many failing on an unsupported construct is the system's answer: no code.
            return Completion(text=f"```rust\n{text}\n```\n" if text.strip() else "", **base)

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return list(pool.map(self._one, prompts))



