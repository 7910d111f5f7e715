"""Run corpus code in the sandbox that runs model output, and read its results from a file.

Why: corpora come from the internet, so their Python (confirming expected values,
importing HumanEval) runs under `run_sandboxed`: throw-away uid, no network, no host
writes, rlimits, process-group kill. Results come back through an events file
(worker.py), never through the stdout the code under test shares, so a fork, an
os._exit, a write to fd 1 or a hang in C code is one line naming the item that did
it, and the items after it are still run (in a fresh worker).
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sse.core.errors import CorpusError
from sse.core.sandbox import SandboxLimits, SandboxResult, run_sandboxed

WORKER = Path(__file__).with_name("worker.py")
STARTUP_S = 30.0  # interpreter start and sandbox set-up, on a loaded machine
MEMORY_MB = 2048
EVENTS = "events.jsonl"


@dataclass(frozen=True)
class Failure:
    """An item the worker did not finish: why, and the call it was in (op confirm)."""

    reason: str
    call: int | None = None


@functools.cache
def sandbox_python() -> str:
    """An interpreter of this Python's version that the sandbox's throw-away uid can run, for
    corpus confirmation, plus tests and program suites alike (one rule).

    The running one may live where that uid cannot read (a virtualenv or pyenv under /root), so a
    system interpreter of the same version comes first: it needs no view of the caller's home (the
    minimal views the scorers give untrusted programs show system paths only) and gives the same
    values. Each candidate is checked once by running it in the sandbox."""
    want = f"{sys.version_info[0]}.{sys.version_info[1]}"
    system = [shutil.which(f"python{want}", path=d) or "" for d in ("/usr/bin", "/usr/local/bin", "/bin")]
    candidates = [*system, str(Path(sys.executable).resolve()), sys.executable,
                  getattr(sys, "_base_executable", "")]
    tried: list[str] = []
    for c in dict.fromkeys(x for x in candidates if x and Path(x).exists()):
        res = run_sandboxed([c, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                            limits=SandboxLimits(wall_s=STARTUP_S, memory_mb=MEMORY_MB))
        if res.ok and res.stdout.decode(errors="replace").strip() == want:
            return c
        tried.append(c)
    raise CorpusError(f"no Python {want} that the sandbox user can run (tried {', '.join(tried) or 'none'})",
                      file=sys.executable, field="sandbox",
                      fix=f"install python{want} system-wide (e.g. apt-get install python{want}) or make the "
                          "interpreter and its standard library readable by other users")


def _events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for ln in lines:
        try:
            ev = json.loads(ln)
        except ValueError:
            continue  # a torn line (killed mid-write) or junk: the item it concerns is unfinished
        if isinstance(ev, dict):
            out.append(ev)
    return out


def _why_stopped(res: SandboxResult, budget_s: float) -> str:
    if res.output_capped:
        return "wrote more output than allowed (1 MiB)"
    if res.timed_out:
        return f"did not finish within the worker's {budget_s:.0f} s"
    err = res.stderr.decode(errors="replace")
    if "Timeout (" in err:
        return "hung: a call did not return and ignored the timer (a loop in C code?)"
    if res.signal is not None or (res.returncode or 0) > 128:
        sig = res.signal if res.signal is not None else (res.returncode or 0) - 128
        return f"killed the interpreter (signal {sig}: a crash or a resource limit)"
    return f"ended the interpreter (exit status {res.returncode}: os._exit or sys.exit from a thread?)"


def run_items(op: str, items: list[dict[str, Any]], timeout: float, item_budget_s: list[float]) -> list[Any]:
    """Run `op` (see worker.py) on each item in the sandbox: its result dict, or a Failure."""
    results: list[Any] = [None] * len(items)
    python = sandbox_python()
    start = 0
    while start < len(items):
        batch = items[start:]
        budget = STARTUP_S + sum(item_budget_s[start:])
        work = Path(tempfile.mkdtemp(prefix="sse-corpus-"))
        try:
            (work / "worker.py").write_text(WORKER.read_text(encoding="utf-8"), encoding="utf-8")
            (work / "worker.py").chmod(0o644)
            payload = json.dumps({"op": op, "timeout": timeout, "items": batch}).encode()
            res = run_sandboxed([python, "-s", "-P", "worker.py", EVENTS], cwd=str(work), stdin=payload,
                                limits=SandboxLimits(wall_s=budget, memory_mb=MEMORY_MB),
                                env={"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"})
            events = _events(work / EVENTS)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if res.error is not None:
            raise CorpusError(f"the sandbox could not start the Python worker: {res.error}", file=python,
                              field="sandbox", fix="check the sandbox (bwrap, user namespaces) on this machine")
        running, call, ended = None, None, False
        forked: dict[int, int | None] = {}
        for ev in events:
            i = ev.get("start", ev.get("call", ev.get("done", ev.get("forked"))))
            if not isinstance(i, int) or not 0 <= i < len(batch):
                ended = ended or ev.get("end") is True
                continue
            if "start" in ev:
                running, call = i, None
            elif "call" in ev and isinstance(ev.get("n"), int):
                call = ev["n"]
            elif "done" in ev and results[start + i] is None and isinstance(ev.get("result"), dict):
                results[start + i] = ev["result"]
                running = None
            elif "forked" in ev:
                forked.setdefault(i, ev["n"] if isinstance(ev.get("n"), int) else None)
        for i, n in forked.items():
            results[start + i] = Failure("forked a process (os.fork); corpus code must compute in one process", n)
        if ended and all(r is not None for r in results[start:]):
            break
        if running is None:  # stopped between items, or never started one
            nxt = next((k for k in range(len(batch)) if results[start + k] is None), None)
            if nxt is None:
                break
            if not events:
                tail = " ".join(res.stderr.decode(errors="replace").strip().splitlines()[-2:])[:200]
                raise CorpusError(f"the sandboxed Python worker produced no results ({_why_stopped(res, budget)}"
                                  f"{': ' + tail if tail else ''})", file=python, field="sandbox",
                                  fix="check that this interpreter runs under the sandbox on this machine")
            running = nxt
        if results[start + running] is None:
            results[start + running] = Failure(_why_stopped(res, budget), call)
        start += running + 1
    return results
