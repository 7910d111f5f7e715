"""Judge many function candidates with one rustc, then each candidate in a process of its own.

1. Compile: one crate (sse.scorers.harness: random module names, the candidate's text in a file
   of its own, its harness a child module, `#![forbid(unsafe_code)]`), rustc as the throw-away
   uid seeing only the toolchain and the batch folder. Modules that own errors (by the primary
   span's file; root lines are mapped back to the module they concern) are dropped and the rest
   rebuilt; errors that touch another candidate's files or the shared code make the modules
   concerned be judged alone, so a neighbour can never cost a candidate its verdict.
2. Run: the binary once per candidate, given that candidate's secret token, in a sandbox that
   shows only the binary and the system libraries. The process prints what the candidate
   returned; Python decodes it with the declared type and compares it with the expected value
   (sse.core.values.equal), which never left Python. A case without exactly one well-formed
   result fails. When the process dies or hangs, the case in progress is the culprit (crash or
   timeout) and the cases not yet run are run again; after a timeout the rest run in parallel
   threads once, so a candidate that hangs everywhere costs about two time limits.
3. Infra: a process that never reached `main` (`ready`) means the shared binary or the sandbox
   failed, not the candidate: it is judged alone; alone, a canary built the same way tells a
   harness failure (infra_error) from a candidate whose own binary cannot start (crash).
   Every verdict therefore comes from a process that held that candidate alone.

A task that allows unsafe code compiles each candidate alone, without the forbid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sse.core.records import TestOutcome, Verdict
from sse.core.sandbox import BWRAP_MODES, SandboxLimits, SandboxResult, isolation_mode, run_sandboxed
from sse.core.values import WireError, equal, from_wire
from sse.scorers import harness as hz
from sse.scorers.rustc import CompileResult, Diagnostic, rustc_compile
from sse.task.config import Limits
from sse.task.translate import Expectation

CROSS_MODULE_CODES = frozenset({"E0428", "E0252", "E0254", "E0255", "E0259", "E0260", "E0430", "E0659"})
MAX_DIAG_CHARS = 1500
PROGRAM_PATH = "/sse/prog"


@dataclass
class Candidate:
    """One piece of Rust plus its harness module and the expected outcome of each case."""

    rust: str
    driver: str
    expected: tuple[Expectation, ...]
    limits: Limits = field(default_factory=Limits)
    allow_unsafe: bool = False

    @property
    def test_names(self) -> list[str]:
        return [e.name for e in self.expected]


@dataclass
class _State:
    cand: Candidate
    slot: hz.Slot
    verdict: Verdict | None = None
    errors: list[Diagnostic] = field(default_factory=list)
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    compile_s: float = 0.0
    run_s: float = 0.0
    not_started: str | None = None  # the process never reached main: why

    @property
    def mod(self) -> str:
        return self.slot.module


def _normalise(text: str) -> str:
    """The same candidate gets the same text whichever random names its batch had."""
    text = re.sub(r"\S*/sse-(verify|canary)-[A-Za-z0-9_]+/(alone-[A-Za-z0-9_]+/)*", "./", text)
    text = re.sub(r"(\./)?w[0-9a-f]{16}/cand\.rs", "candidate.rs", text)
    text = re.sub(r"(\./)?w[0-9a-f]{16}/harness\.rs", "harness.rs", text)
    text = re.sub(r"(crate::)?w[0-9a-f]{16}::cand::", "", text)
    text = re.sub(r"(\./)?(r|rt)[0-9a-f]{16}\.rs", "harness.rs", text)
    return re.sub(r"w[0-9a-f]{16}", "candidate", text)


def _excerpt(diags: list[Diagnostic]) -> str:
    return _normalise("\n".join(d.rendered.strip() for d in diags if d.level.startswith("error")))[:MAX_DIAG_CHARS]


def _codes(diags: list[Diagnostic]) -> tuple[str, ...]:
    seen: list[str] = []
    for d in diags:
        if d.code and d.code not in seen and d.level.startswith("error"):
            seen.append(d.code)
    return tuple(seen)


def _workers() -> int:
    env = os.environ.get("SSE_VERIFY_WORKERS")
    return max(1, int(env)) if env else max(1, min(4, os.cpu_count() or 1))


def verify_candidates(cands: Sequence[Candidate], *, batch: bool = True, workdir: str | None = None) -> list[Verdict]:
    """Verdicts for `cands` in order. batch=False compiles each alone (the per-example peer)."""
    if not cands:
        return []
    if not batch:
        return [v for c in cands for v in verify_candidates([c], batch=True, workdir=workdir)]
    if any(c.allow_unsafe for c in cands) and len(cands) > 1:
        # Unsafe code could reach a neighbour's memory or symbols: each such candidate alone.
        out: dict[int, Verdict] = {}
        safe = [(i, c) for i, c in enumerate(cands) if not c.allow_unsafe]
        for i, v in zip([i for i, _ in safe], verify_candidates([c for _, c in safe], workdir=workdir), strict=True):
            out[i] = v
        for i, c in enumerate(cands):
            if c.allow_unsafe:
                out[i] = verify_candidates([c], workdir=workdir)[0]
        return [out[i] for i in range(len(cands))]
    tmp = Path(tempfile.mkdtemp(prefix="sse-verify-", dir=workdir))
    tmp.chmod(0o755)
    try:
        states = [_State(c, hz.Slot(hz.new_name("w"))) for c in cands]
        _judge_in(states, tmp, alone=len(states) == 1)
        return [s.verdict for s in states if s.verdict is not None]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _judge_in(states: list[_State], tmp: Path, alone: bool) -> None:
    for s in states:
        d = tmp / s.mod
        d.mkdir()
        d.chmod(0o755)
        (d / hz.CANDIDATE_FILE).write_text(hz.candidate_text(s.cand.rust), encoding="utf-8")
        (d / hz.DRIVER_FILE).write_text(s.cand.driver, encoding="utf-8")
    runtime = hz.new_name("rt") + ".rs"
    (tmp / runtime).write_text(hz.RUNTIME_RS, encoding="utf-8")
    binary = _compile_loop(states, tmp, runtime, alone)
    todo = [s for s in states if s.verdict is None]
    if binary is not None and todo:
        with ThreadPoolExecutor(max_workers=min(_workers(), len(todo))) as pool:
            list(pool.map(lambda s: _run_candidate(binary, s), todo))
    for s in todo:
        if s.verdict is not None:
            continue
        if s.not_started is not None:
            if not alone:
                _alone(s, tmp)
            elif harness_healthy():
                s.verdict = Verdict("crash", diagnostics=f"the program did not start: {s.not_started}"[:MAX_DIAG_CHARS],
                                    compile_s=s.compile_s, run_s=s.run_s, tests_total=len(s.cand.expected))
            else:
                s.verdict = Verdict("infra_error", diagnostics=f"harness: {s.not_started}"[:MAX_DIAG_CHARS],
                                    compile_s=s.compile_s, run_s=s.run_s)
        else:
            s.verdict = _verdict_from_outcomes(s)
            if s.verdict.status == "crash" and not alone:
                # A shared binary carries every neighbour's statics and thread-locals: a crash is
                # only the candidate's own once it happens in a binary of its own.
                _alone(s, tmp)


# ------------------------------------------------------------------ compiling
def _compile_timeout(states: Sequence[_State]) -> float:
    return max(s.cand.limits.compile_timeout_s for s in states) * (1 + len(states) / 20)


def _compile(states: list[_State], tmp: Path, runtime: str, tag: str) -> tuple[CompileResult, hz.Crate, float]:
    forbid = not any(s.cand.allow_unsafe for s in states)
    crate = hz.root_text([s.slot for s in states], runtime, forbid_unsafe=forbid)
    root = tmp / (hz.new_name("r") + ".rs")
    root.write_text(crate.text, encoding="utf-8")
    crate.root = root.name
    t0 = time.monotonic()
    res = rustc_compile(root, tmp / f"bin_{tag}", test=False, timeout_s=_compile_timeout(states),
                        crate_name="sse_candidates")
    return res, crate, time.monotonic() - t0


def _owner(d: Diagnostic, crate: hz.Crate, mods: set[str]) -> str | None:
    if d.file is None:
        return None
    parts = Path(d.file).parts
    if len(parts) >= 2 and parts[-2] in mods:
        return parts[-2]
    if Path(d.file).name == crate.root and d.line is not None:
        m = crate.lines.get(d.line)
        return m if m in mods else None
    return None


def _touches_others(d: Diagnostic, own: str, mods: set[str], crate: hz.Crate) -> bool:
    """Does the diagnostic point into another candidate's files or the shared runtime?"""
    for f in d.files:
        parts = Path(f).parts
        if len(parts) >= 2 and parts[-2] in mods and parts[-2] != own:
            return True
        if Path(f).name == crate.runtime:
            return True
    return False


def _compile_loop(states: list[_State], tmp: Path, runtime: str, alone: bool) -> Path | None:
    """Build, drop the modules that own errors, repeat until the survivors' binary builds."""
    alive = list(states)
    suspicious: list[_State] = []
    rounds = 0
    binary: Path | None = None
    while alive:
        rounds += 1
        res, crate, secs = _compile(alive, tmp, runtime, f"b{rounds}")
        for s in alive:
            s.compile_s += secs / len(alive)
        if res.ok:
            assert res.output is not None
            binary = res.output
            break
        mods = {s.mod for s in alive}
        owned: dict[str, list[Diagnostic]] = {}
        stray: list[Diagnostic] = []
        for d in res.errors:
            if d.message.startswith("aborting due to"):
                continue
            m = _owner(d, crate, mods)
            if m is None:
                stray.append(d)
            else:
                owned.setdefault(m, []).append(d)
        problem = res.infra_problem()
        if res.sandbox.timed_out or problem or stray or not owned:
            if len(alive) == 1 and alone:
                _finish_alone_failure(alive[0], res, problem)
            else:
                for s in alive:
                    _alone(s, tmp)
            return None
        keep: list[_State] = []
        for s in alive:
            errs = owned.get(s.mod)
            if not errs:
                keep.append(s)
                continue
            s.errors = errs
            cross = any(e.code in CROSS_MODULE_CODES or _touches_others(e, s.mod, mods, crate) for e in errs)
            if cross and not alone:
                suspicious.append(s)
            else:
                s.verdict = Verdict("compile_error", error_codes=_codes(errs), diagnostics=_excerpt(errs),
                                    compile_s=s.compile_s, tests_total=len(s.cand.expected))
        alive = keep
    for s in suspicious:
        _alone(s, tmp)
    return binary


def _finish_alone_failure(s: _State, res: CompileResult, problem: str | None) -> None:
    n = len(s.cand.expected)
    if res.sandbox.timed_out:
        s.verdict = Verdict("timeout", diagnostics="compilation exceeded the compile time limit",
                            compile_s=s.compile_s, tests_total=n)
    elif problem and not harness_healthy():
        s.verdict = Verdict("infra_error", diagnostics=problem[:MAX_DIAG_CHARS], compile_s=s.compile_s)
    elif problem:
        # The same compiler builds the canary: this code breaks it (an ICE, out of memory...).
        s.verdict = Verdict("compile_error", diagnostics=f"the compiler failed on this code: {_normalise(problem)}"
                            [:MAX_DIAG_CHARS], compile_s=s.compile_s, tests_total=n)
    else:
        errs = res.errors
        s.verdict = Verdict("compile_error", error_codes=_codes(errs), diagnostics=_excerpt(errs),
                            compile_s=s.compile_s, tests_total=n)


def _alone(s: _State, tmp: Path) -> None:
    """Judge one candidate in a crate of its own (when its batch could not tell)."""
    sub = Path(tempfile.mkdtemp(prefix="alone-", dir=tmp))
    sub.chmod(0o755)
    one = _State(s.cand, hz.Slot(hz.new_name("w")))
    _judge_in([one], sub, alone=True)
    v = one.verdict
    assert v is not None
    s.verdict = Verdict(v.status, error_codes=v.error_codes, tests_passed=v.tests_passed, tests_total=v.tests_total,
                        compile_s=s.compile_s + v.compile_s, run_s=s.run_s + v.run_s, diagnostics=v.diagnostics,
                        failing_test=v.failing_test, tests=v.tests, isolation=v.isolation)


# ------------------------------------------------------------------ running
def image_mb(binary: Path) -> int:
    """Address space the binary takes before it runs (ELF PT_LOAD segments, and thread-local
    storage once per possible thread): added to the memory limit, so a neighbour's huge statics
    in the shared binary do not eat a candidate's allowance."""
    try:
        with open(binary, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return 0
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error, IndexError):
        return 0
    load = tls = 0
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", table, i * phentsize)
        memsz, = struct.unpack_from("<Q", table, i * phentsize + 40)
        if p_type == 1:
            load += memsz
        elif p_type == 7:
            tls += memsz
    return (load + tls * 64) // (1 << 20) + 1


def _run_limits(c: Candidate, n_cases: int, par: bool, image: int = 0) -> SandboxLimits:
    t = c.limits.test_timeout_s
    wall = t * (2 if par else n_cases + 1) + 5
    return SandboxLimits(wall_s=wall, cpu_s=wall * 4,
                         memory_mb=c.limits.memory_mb + image + 64 + (16 * n_cases if par else 32),
                         nproc=16 + (n_cases if par else 0), max_output_bytes=c.limits.max_output_bytes,
                         idle_s=t + 5)


def _run_binary(binary: Path, s: _State, cases: list[int], par: bool) -> SandboxResult:
    argv_tail = [s.slot.token, "par" if par else "seq", str(int(s.cand.limits.test_timeout_s * 1000)),
                 ",".join(map(str, cases))]
    lim = _run_limits(s.cand, len(cases), par, image_mb(binary))
    env = {"MALLOC_ARENA_MAX": "2"}
    if isolation_mode() in BWRAP_MODES:
        return run_sandboxed([PROGRAM_PATH, *argv_tail], limits=lim, env=env, view=[(str(binary), PROGRAM_PATH)])
    return run_sandboxed([str(binary), *argv_tail], limits=lim, env=env)


def _describe_death(res: SandboxResult) -> tuple[str, str]:
    err = res.stderr.decode("utf-8", "replace")
    if res.timed_out:
        return "timeout", "exceeded the test time limit"
    if res.output_capped:
        return "crash", "output limit exceeded"
    tail = [_normalise(x) for x in err.strip().splitlines()[-3:]]
    sig = res.signal or (res.returncode - 128 if res.returncode and 128 < res.returncode < 160
                         and res.isolation in BWRAP_MODES else None)  # bwrap's init reports 128+signal
    if sig:
        name = {6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 24: "SIGXCPU", 25: "SIGXFSZ"}.get(sig, str(sig))
        return "crash", f"killed by signal {name}: {' | '.join(tail)}"[:500]
    return "crash", f"exited {res.returncode} before finishing: {' | '.join(tail)}"[:500]


def _judge_case(e: Expectation, results: list[tuple[str, str]]) -> TestOutcome:
    """The outcome of one case from the records its process printed for it."""
    if len(results) != 1:
        return TestOutcome(e.name, "fail", f"{e.call}: {len(results)} results for one call (malformed output)")
    kind, payload = results[0]
    if kind in ("timeout", "crash"):
        return TestOutcome(e.name, kind, "no result within the time limit" if kind == "timeout" else "crashed")
    try:
        value = hz.decode_payload(payload)
    except (ValueError, RecursionError):
        return TestOutcome(e.name, "fail", f"{e.call}: malformed result")
    if kind == "panic":
        return TestOutcome(e.name, "fail", _normalise(f"{e.call} panicked: {value}")[:500])
    if kind == "err":
        if not e.fallible:
            return TestOutcome(e.name, "fail", f"{e.call}: malformed result")
        if e.raises:
            return TestOutcome(e.name, "pass")
        return TestOutcome(e.name, "fail", f"{e.call} returned Err({value!r}), expected Ok({e.expected!r})"[:500])
    if e.raises:
        return TestOutcome(e.name, "fail", f"{e.call} returned Ok(...), expected Err(_) (Python raises {e.raises})")
    try:
        actual = from_wire(value, e.ret)
    except (WireError, TypeError, RecursionError) as err:
        return TestOutcome(e.name, "fail", f"{e.call}: malformed result ({err})"[:500])
    if equal(actual, e.expected, e.ret):
        return TestOutcome(e.name, "pass")
    return TestOutcome(e.name, "fail", f"{e.call} returned {actual!r}, expected {e.expected!r}"[:500])


def _run_candidate(binary: Path, s: _State) -> None:
    """All cases of one candidate, in processes that hold only it (see the module docstring)."""
    exp = s.cand.expected
    todo = list(range(len(exp)))
    par = False
    par_used = False
    for _ in range(len(exp) + 3):
        if not todo:
            return
        t0 = time.monotonic()
        res = _run_binary(binary, s, todo, par)
        s.run_s += time.monotonic() - t0
        if res.error:
            s.not_started = res.error
            return
        rec = hz.parse_records(res.stdout)
        if not rec.ready:
            s.not_started = _describe_death(res)[1]
            return
        timed_out = res.timed_out
        for k in todo:
            if k in rec.results:
                o = _judge_case(exp[k], rec.results[k])
                s.outcomes[exp[k].name] = o
                timed_out |= o.status == "timeout"
        left = [k for k in todo if exp[k].name not in s.outcomes]
        if not left:
            return
        if rec.end and not res.timed_out:
            for k in left:  # the run finished but printed nothing for these
                s.outcomes[exp[k].name] = TestOutcome(exp[k].name, "fail", f"{exp[k].call}: no result")
            return
        kind, why = _describe_death(res)
        culprits = [k for k in rec.started if k in left]
        if par:
            # Parallel run killed for time: whoever had no result was running all along.
            for k in left if res.timed_out else []:
                s.outcomes[exp[k].name] = TestOutcome(exp[k].name, "timeout", "no result within the time limit")
        elif culprits:
            k = culprits[-1]
            s.outcomes[exp[k].name] = TestOutcome(exp[k].name, kind, why)
        elif len(left) == len(todo):
            for k in left:  # no progress at all: nothing to run again for
                s.outcomes[exp[k].name] = TestOutcome(exp[k].name, kind, why)
        todo = [k for k in left if exp[k].name not in s.outcomes]
        par = timed_out and not par_used and len(todo) > 1
        par_used |= par


def _canary() -> bool:
    from sse.core.records import Example, TestCase
    from sse.task.translate import expectations, generate_driver

    ex = Example(id="canary", python="def f(x: int) -> int:\n    return x", entry_point="f",
                 tests=(TestCase((1,), 1),), kind="function")
    c = Candidate("pub fn f(x: i64) -> i64 { x }", generate_driver(ex), expectations(ex), Limits(test_timeout_s=20))
    tmp = Path(tempfile.mkdtemp(prefix="sse-canary-"))
    tmp.chmod(0o755)
    try:
        st = _State(c, hz.Slot(hz.new_name("w")))
        for d in (tmp / st.mod,):
            d.mkdir()
            d.chmod(0o755)
            (d / hz.CANDIDATE_FILE).write_text(hz.candidate_text(c.rust), encoding="utf-8")
            (d / hz.DRIVER_FILE).write_text(c.driver, encoding="utf-8")
        runtime = hz.new_name("rt") + ".rs"
        (tmp / runtime).write_text(hz.RUNTIME_RS, encoding="utf-8")
        res, _, _ = _compile([st], tmp, runtime, "canary")
        if not res.ok or res.output is None:
            return False
        _run_candidate(res.output, st)
        return st.not_started is None and all(o.status == "pass" for o in st.outcomes.values()) and bool(st.outcomes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def harness_healthy() -> bool:
    """Does a known-good candidate compile and run here, now? Asked only when a candidate alone
    failed in a way the harness could have caused (never remembered: the machine may change)."""
    return _canary()


def _verdict_from_outcomes(s: _State) -> Verdict:
    names = s.cand.test_names
    outs = tuple(s.outcomes.get(n, TestOutcome(n, "skipped", "no result")) for n in names)
    passed = sum(o.status == "pass" for o in outs)
    statuses = {o.status for o in outs}
    if passed == len(names):
        status = "pass"
    elif "crash" in statuses:
        status = "crash"
    elif "timeout" in statuses:
        status = "timeout"
    elif "skipped" in statuses and not statuses & {"fail"}:
        status = "infra_error"
    else:
        status = "test_failure"
    want = {"crash": "crash", "timeout": "timeout", "test_failure": "fail", "infra_error": "skipped"}.get(status)
    first_bad = next((o for o in outs if o.status == want), None)
    return Verdict(status, tests_passed=passed, tests_total=len(names), compile_s=s.compile_s, run_s=s.run_s,
                   diagnostics=(first_bad.message if first_bad else "")[:MAX_DIAG_CHARS],
                   failing_test=first_bad.name if first_bad else None, tests=outs, isolation=isolation_mode(),
                   meta={"process": "own"})


def result_json(v: Verdict) -> str:
    """A compact, comparable form of a verdict (no timings): what the red-team tests compare."""
    return json.dumps({"status": v.status, "passed": v.tests_passed, "total": v.tests_total,
                       "codes": list(v.error_codes), "diag": v.diagnostics,
                       "tests": [[o.name, o.status, o.message] for o in v.tests]}, sort_keys=True)
