"""py2many, the rule-based transpiler from PyPI, as a baseline system.

It runs as a subprocess on the example's Python source (not the prompt). Its
cost is its measured CPU time (user+sys of the child, from wait4) priced at
the task's machine rate by the analysis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sse.core.records import Completion
from sse.systems.base import register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec


def run_measured(argv: list[str], *, cwd: str, timeout_s: float, stdin: bytes | None = None,
                 env: dict[str, str] | None = None) -> tuple[int | None, bytes, bytes, float, float]:
    """Run argv; return (returncode or None on timeout, stdout, stderr, wall s, child cpu s).

    CPU time comes from wait4 on this very child, so concurrent calls don't mix.
    The child gets its own session; on timeout its whole process group is killed.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=out, stderr=err, env=env, start_new_session=True)
        if stdin is not None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        status: int | None = None
        cpu = 0.0
        deadline = t0 + timeout_s
        while True:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(st)
                cpu = ru.ru_utime + ru.ru_stime
                break
            if time.perf_counter() > deadline:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, _, ru = os.wait4(proc.pid, 0)
                cpu = ru.ru_utime + ru.ru_stime
                break
            time.sleep(0.005)
        proc.returncode = status if status is not None else -9
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return status, out.read(), err.read(), wall, cpu


class Py2ManyAdapter:
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
            code, out, err, wall, cpu = run_measured(
                self._exe + ["--rust", "--outdir", "out", src.name], cwd=tmp, timeout_s=self.timeout_s)
            rs = Path(tmp) / "out" / (src.stem + ".rs")
            text = rs.read_text(encoding="utf-8", errors="replace") if rs.exists() else ""
            base = dict(system=self.spec.name, example_id=p.example.id, run=p.run, latency_s=wall, cpu_s=cpu,
                        meta={"stderr_tail": err.decode("utf-8", "replace")[-400:]})
            if code is None:
                return Completion(text="", error=f"py2many timed out after {self.timeout_s:g}s",
                                  error_kind="timeout", **base)
            # py2many failing on an unsupported construct is the system's answer: no code.
            return Completion(text=f"```rust\n{text}\n```\n" if text.strip() else "", **base)

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return list(pool.map(self._one, prompts))


@register_kind("py2many")
def _build(spec: SystemSpec, task: Any) -> Py2ManyAdapter:
    return Py2ManyAdapter(spec, task)


