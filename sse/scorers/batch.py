"""Judge many function candidates with one rustc: modules of one crate, then one test binary.

Each candidate becomes `m<i>.rs` (its Rust followed by its generated `sse_gt_tests` module),
included from `lib.rs` with `#[path] mod m<i>;` next to the shared comparison helpers. So
every diagnostic's primary span names the file, hence the candidate, it belongs to.

1. `rustc --test` over all modules; drop the modules that own an error (by primary span) and
   repeat until the build succeeds (an error in one module can stop rustc before it checks the
   others). A module whose errors touch other files or are crate-level collisions is judged again
   alone, so a neighbour can never cost it its verdict; errors that cannot be attributed make
   every remaining module be judged alone.
2. (A failing build stops after analysis, so each extra round costs about a type-check.)
3. Run the binary once, filtered to `sse_gt_tests::` (never the model's own tests), with
   several test threads and a silence limit (the test time limit); per-test `ok`/`FAILED`
   lines are parsed. If it fell silent with no more tests missing than threads, those tests
   are the hangs. Otherwise (abort, out of memory, output flood) the stragglers run with
   `--test-threads=1`, which names each test before running it, so the culprit of a death or
   a silence is known; it is recorded and the rest run again without it. After a timeout, the
   culprit's sibling stragglers run together once. Results are the same batched or alone.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sse.core.records import TestOutcome, Verdict
from sse.core.sandbox import BWRAP_MODES, SandboxLimits, SandboxResult, isolation_mode, run_sandboxed
from sse.scorers.rustc import CompileResult, Diagnostic, rustc_compile
from sse.scorers.translate import SUPPORT_RS, TEST_MODULE
from sse.task.config import Limits

TEST_THREADS = 8
CROSS_MODULE_CODES = frozenset({"E0428", "E0252", "E0254", "E0255", "E0259", "E0260", "E0430", "E0659"})
MAX_DIAG_CHARS = 1500
RESULT_RE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)\s*$", re.M)
FAILURE_SECTION_RE = re.compile(r"^---- (\S+) stdout ----\n(.*?)(?=^---- |^failures:\s*$|\Z)", re.M | re.S)


@dataclass
class Candidate:
    """One piece of Rust plus its generated test module and expected test names."""

    rust: str
    tests_rs: str
    test_names: list[str]
    limits: Limits = field(default_factory=Limits)


@dataclass
class _State:
    cand: Candidate
    mod: str
    verdict: Verdict | None = None
    errors: list[Diagnostic] = field(default_factory=list)
    outcomes: dict[str, TestOutcome] = field(default_factory=dict)
    compile_s: float = 0.0
    run_s: float = 0.0


def _module_text(c: Candidate) -> str:
    return f"{c.rust.rstrip()}\n\n{c.tests_rs}"


def _lib_text(mods: Sequence[str]) -> str:
    lines = [SUPPORT_RS]
    for m in mods:
        lines.append(f'#[path = "{m}.rs"]\nmod {m};')
    return "\n".join(lines) + "\n"


def _excerpt(diags: list[Diagnostic]) -> str:
    text = "\n".join(d.rendered.strip() for d in diags if d.level.startswith("error"))
    # The same candidate gets the same excerpt whichever slot of a batch it sat in.
    return re.sub(r"\./m\d+\.rs", "candidate.rs", text)[:MAX_DIAG_CHARS]


def _codes(diags: list[Diagnostic]) -> tuple[str, ...]:
    seen: list[str] = []
    for d in diags:
        if d.code and d.code not in seen and d.level.startswith("error"):
            seen.append(d.code)
    return tuple(seen)


def verify_candidates(cands: Sequence[Candidate], *, batch: bool = True, workdir: str | None = None) -> list[Verdict]:
    """Verdicts for `cands` in order. batch=False compiles each alone (the per-example peer)."""
    if not cands:
        return []
    if not batch:
        out: list[Verdict] = []
        for c in cands:
            out.extend(verify_candidates([c], batch=True, workdir=workdir))
        return out
    tmp = Path(tempfile.mkdtemp(prefix="sse-verify-", dir=workdir))
    tmp.chmod(0o755)  # the sandboxed test binary runs as another uid
    try:
        states = [_State(c, f"m{i}") for i, c in enumerate(cands)]
        for s in states:
            (tmp / f"{s.mod}.rs").write_text(_module_text(s.cand), encoding="utf-8")
        _compile_loop(states, tmp)
        _run_tests(states, tmp)
        for s in states:
            if s.verdict is None:
                s.verdict = _verdict_from_outcomes(s)
        return [s.verdict for s in states if s.verdict is not None]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _compile_timeout(states: Sequence[_State]) -> float:
    return max(s.cand.limits.compile_timeout_s for s in states) * (1 + len(states) / 20)


def _compile(states: list[_State], tmp: Path, tag: str, check_only: bool) -> tuple[CompileResult, float]:
    lib = tmp / f"lib_{tag}.rs"
    lib.write_text(_lib_text([s.mod for s in states]), encoding="utf-8")
    out = tmp / (f"check_{tag}.rmeta" if check_only else f"tests_{tag}")
    t0 = time.monotonic()
    res = rustc_compile(lib, out, test=True, check_only=check_only, timeout_s=_compile_timeout(states))
    return res, time.monotonic() - t0


def _attribute(res: CompileResult, states: list[_State]) -> tuple[dict[str, list[Diagnostic]], list[Diagnostic]]:
    by_file = {f"{s.mod}.rs": s.mod for s in states}
    owned: dict[str, list[Diagnostic]] = {}
    stray: list[Diagnostic] = []
    for d in res.errors:
        if d.message.startswith("aborting due to") or d.file is None:
            if not d.message.startswith("aborting due to"):
                stray.append(d)
            continue
        mod = by_file.get(Path(d.file).name)
        if mod is None:
            stray.append(d)
        else:
            owned.setdefault(mod, []).append(d)
    return owned, stray


def _compile_loop(states: list[_State], tmp: Path) -> None:
    """Build, drop the modules that own errors, repeat until the test binary of the survivors builds."""
    alive = list(states)
    suspicious: list[_State] = []
    # Full builds only: a build with errors stops after analysis, so it costs about a type-check;
    # a separate `--emit=metadata` pass first would only add a round (measured: slower).
    for check_only in (False,):
        rounds = 0
        while alive:
            rounds += 1
            res, secs = _compile(alive, tmp, f"{'c' if check_only else 'b'}{rounds}", check_only)
            share = secs / len(alive)
            for s in alive:
                s.compile_s += share
            if res.ok:
                if not check_only:
                    for s in alive:
                        s.errors = []
                    (tmp / "tests_final").unlink(missing_ok=True)
                    assert res.output is not None
                    res.output.rename(tmp / "tests_final")
                break
            owned, stray = _attribute(res, alive)
            problem = res.infra_problem()
            if res.sandbox.timed_out or problem or (stray and not owned) or not owned:
                # Cannot attribute: judge each remaining module alone.
                if len(alive) == 1:
                    _finish_alone_failure(alive[0], res, problem)
                    alive = []
                    break
                for s in alive:
                    _alone(s, tmp)
                alive = []
                break
            keep: list[_State] = []
            for s in alive:
                errs = owned.get(s.mod)
                if not errs:
                    keep.append(s)
                    continue
                s.errors = errs
                cross = any(e.code in CROSS_MODULE_CODES or _other_modules(e, s.mod) for e in errs)
                if cross and len(alive) > 1:
                    suspicious.append(s)
                else:
                    s.verdict = Verdict("compile_error", error_codes=_codes(errs), diagnostics=_excerpt(errs),
                                        compile_s=s.compile_s, tests_total=len(s.cand.test_names))
            alive = keep
    for s in suspicious:
        _alone(s, tmp)


def _other_modules(d: Diagnostic, own: str) -> bool:
    """Does the diagnostic point into another candidate's file?"""
    return any(re.fullmatch(r"m\d+\.rs", Path(f).name) and Path(f).name != f"{own}.rs" for f in d.files)


def _finish_alone_failure(s: _State, res: CompileResult, problem: str | None) -> None:
    if res.sandbox.timed_out:
        s.verdict = Verdict("timeout", diagnostics="compilation exceeded the compile time limit", compile_s=s.compile_s,
                            tests_total=len(s.cand.test_names))
    elif problem:
        s.verdict = Verdict("infra_error", diagnostics=problem[:MAX_DIAG_CHARS], compile_s=s.compile_s)
    else:
        errs = res.errors
        s.verdict = Verdict("compile_error", error_codes=_codes(errs), diagnostics=_excerpt(errs),
                            compile_s=s.compile_s, tests_total=len(s.cand.test_names))


def _alone(s: _State, tmp: Path) -> None:
    """Judge one module in its own crate (fallback when a batch error cannot be attributed)."""
    sub = Path(tempfile.mkdtemp(prefix="alone-", dir=tmp))
    sub.chmod(0o755)
    one = _State(s.cand, "m0")
    (sub / "m0.rs").write_text(_module_text(s.cand), encoding="utf-8")
    _compile_loop([one], sub)
    _run_tests([one], sub)
    if one.verdict is None:
        one.verdict = _verdict_from_outcomes(one)
    v = one.verdict
    s.verdict = Verdict(v.status, error_codes=v.error_codes, tests_passed=v.tests_passed, tests_total=v.tests_total,
                        compile_s=s.compile_s + v.compile_s, run_s=v.run_s, diagnostics=v.diagnostics,
                        failing_test=v.failing_test, tests=v.tests)


# ------------------------------------------------------------------ running tests
def _test_limits(states: Sequence[_State], wall: float) -> SandboxLimits:
    mem = max(s.cand.limits.memory_mb for s in states)
    out = max(s.cand.limits.max_output_bytes for s in states)
    return SandboxLimits(wall_s=wall, memory_mb=mem + 64 * TEST_THREADS, nproc=64 + 2 * TEST_THREADS,
                         max_output_bytes=max(out, 64 * 1024 * len(states)))


def _run_binary(binary: Path, args: list[str], limits: SandboxLimits) -> SandboxResult:
    return run_sandboxed([str(binary), *args], limits=limits, env={"MALLOC_ARENA_MAX": "2", "RUST_TEST_NOCAPTURE": "0"})


def _parse_run(res: SandboxResult) -> tuple[dict[str, str], dict[str, str]]:
    text = res.stdout.decode("utf-8", "replace")
    results = {m.group(1): m.group(2) for m in RESULT_RE.finditer(text)}
    messages = {m.group(1): m.group(2).strip() for m in FAILURE_SECTION_RE.finditer(text)}
    return results, messages


def _clean_message(msg: str) -> str:
    msg = re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1'", msg)
    msg = re.sub(r"thread 'm\d+::", "thread '", msg)
    msg = re.sub(r"\./m\d+\.rs", "candidate.rs", msg)
    msg = re.sub(r"\nnote: run with `RUST_BACKTRACE=1`[^\n]*", "", msg)
    return re.sub(r" at \./lib_\w+\.rs:\d+:\d+:", ":", msg).strip()


def _record(states: dict[str, _State], results: dict[str, str], messages: dict[str, str]) -> None:
    for full, status in results.items():
        mod, _, rest = full.partition("::")
        s = states.get(mod)
        if s is None or not rest.startswith(f"{TEST_MODULE}::"):
            continue
        name = rest[len(TEST_MODULE) + 2:]
        if status == "ok":
            s.outcomes[name] = TestOutcome(name, "pass")
        elif status == "FAILED":
            s.outcomes[name] = TestOutcome(name, "fail", _clean_message(messages.get(full, ""))[:500])


def _describe_death(res: SandboxResult) -> tuple[str, str]:
    err = res.stderr.decode("utf-8", "replace")
    if res.timed_out:
        return "timeout", "exceeded the test time limit"
    if res.output_capped:
        return "crash", "output limit exceeded"
    tail = err.strip().splitlines()[-3:]
    sig = res.signal or (res.returncode - 128 if res.returncode and 128 < res.returncode < 160
                         and res.isolation in BWRAP_MODES else None)  # bwrap's init reports 128+signal
    if sig:
        name = {6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 24: "SIGXCPU", 25: "SIGXFSZ"}.get(sig, str(sig))
        return "crash", f"killed by signal {name}: {' | '.join(tail)}"[:500]
    return "crash", f"test binary exited {res.returncode}: {' | '.join(tail)}"[:500]


def _run_tests(states: list[_State], tmp: Path) -> None:
    """One parallel run of every test; then the stragglers one at a time (see module docstring)."""
    binary = tmp / "tests_final"
    todo = [s for s in states if s.verdict is None and s.cand.test_names]
    if not todo or not binary.exists():
        return
    by_mod = {s.mod: s for s in todo}
    n_tests = sum(len(s.cand.test_names) for s in todo)
    idle = max(s.cand.limits.test_timeout_s for s in todo)
    lim = _test_limits(todo, idle * (2 + n_tests / 50))
    lim = dataclasses.replace(lim, idle_s=idle)
    t0 = time.monotonic()
    res = _run_binary(binary, [f"{TEST_MODULE}::", f"--test-threads={TEST_THREADS}"], lim)
    _charge(todo, time.monotonic() - t0)
    if res.error:
        for s in todo:
            s.verdict = Verdict("infra_error", diagnostics=res.error, compile_s=s.compile_s)
        return
    results, messages = _parse_run(res)
    _record(by_mod, results, messages)
    complete = _completed(res)
    pending = [(s, n) for s in todo for n in s.cand.test_names
               if n not in s.outcomes or (not complete and s.outcomes[n].status == "fail" and not s.outcomes[n].message)]
    if not pending:
        return
    if res.timed_out and not res.output_capped:
        # Killed for silence: every test still without a result was running (a thread frees up only
        # by reporting), so each has run for at least the time limit. If no more than the thread
        # count are left, they are the hangs themselves, not victims queued behind them.
        missing = [(s, n) for s, n in pending if n not in s.outcomes]
        if len(missing) <= TEST_THREADS:
            for s, n in missing:
                s.outcomes[n] = TestOutcome(n, "timeout", f"no result within {idle:g}s")
            pending = [(s, n) for s, n in pending if n in s.outcomes and s.outcomes[n].status != "timeout"]
    if pending and len(todo) == 1 and not results and res.returncode not in (None, 0, 101) \
            and b"running" not in res.stdout and not res.timed_out:
        s = todo[0]
        s.verdict = Verdict("infra_error", diagnostics=_describe_death(res)[1], compile_s=s.compile_s)
        return
    _run_sequential(binary, pending, by_mod, idle)


def _completed(res: SandboxResult) -> bool:
    return not (res.timed_out or res.output_capped or res.signal) and b"test result:" in res.stdout


def _charge(states: Sequence[_State], secs: float) -> None:
    for s in states:
        s.run_s += secs / len(states)


STARTED_RE = re.compile(r"^test (\S+) \.\.\. ", re.M)


def _run_sequential(binary: Path, pending: list[tuple[_State, str]], by_mod: dict[str, _State], idle: float) -> None:
    """Run the given tests one at a time (--test-threads=1 prints a test's name before running it),
    so when the process dies or falls silent the test in progress is the culprit; it is recorded
    and the rest run again without it."""
    queue = [(s, n) for s, n in pending]
    for _ in range(len(queue) + 2):
        if not queue:
            return
        names = [f"{s.mod}::{TEST_MODULE}::{n}" for s, n in queue]
        states = list({id(s): s for s, _ in queue}.values())
        lim = dataclasses.replace(_test_limits(states, idle * (2 + len(names) / 10)), idle_s=idle)
        t0 = time.monotonic()
        res = _run_binary(binary, [*names, "--exact", "--test-threads=1"], lim)
        _charge(states, time.monotonic() - t0)
        if res.error:
            for s, n in queue:
                s.outcomes[n] = TestOutcome(n, "skipped", res.error)
            return
        results, messages = _parse_run(res)
        complete = _completed(res)
        for s, n in queue:
            full = f"{s.mod}::{TEST_MODULE}::{n}"
            st = results.get(full)
            if st == "ok":
                s.outcomes[n] = TestOutcome(n, "pass")
            elif st == "FAILED" and (complete or messages.get(full)):
                s.outcomes[n] = TestOutcome(n, "fail", _clean_message(messages.get(full, ""))[:500])
        started = STARTED_RE.findall(res.stdout.decode("utf-8", "replace"))
        culprit = next((c for c in reversed(started) if c not in results), None)
        if culprit is not None:
            mod, _, rest = culprit.partition("::")
            s = by_mod.get(mod)
            if s is not None:
                n = rest[len(TEST_MODULE) + 2:]
                kind, why = _describe_death(res)
                s.outcomes[n] = TestOutcome(n, kind, why)
                if kind == "timeout":
                    # One at a time, each further hang of this candidate would cost another full
                    # limit: its other stragglers run together, in parallel, once.
                    rest = [n2 for s2, n2 in queue if s2 is s and n2 not in s.outcomes]
                    if rest:
                        _run_parallel_rest(binary, s, rest, idle)
        elif not complete:
            # Died before any test started (or output was lost): nothing to attribute.
            for s, n in queue:
                if n not in s.outcomes:
                    kind, why = _describe_death(res)
                    s.outcomes[n] = TestOutcome(n, kind if kind == "timeout" else "crash", why)
        queue = [(s, n) for s, n in queue if n not in s.outcomes
                 or (s.outcomes[n].status == "fail" and not s.outcomes[n].message and not complete)]
        if complete:
            queue = [(s, n) for s, n in queue if n not in s.outcomes]


def _run_parallel_rest(binary: Path, s: _State, names: list[str], idle: float) -> None:
    """Run some tests of one candidate together; a test without a result when the run falls
    silent has run for the whole limit (see _run_tests) and is a timeout."""
    full = [f"{s.mod}::{TEST_MODULE}::{n}" for n in names]
    lim = dataclasses.replace(_test_limits([s], idle * (2 + len(names) / 10)), idle_s=idle)
    t0 = time.monotonic()
    res = _run_binary(binary, [*full, "--exact", f"--test-threads={max(TEST_THREADS, len(names))}"], lim)
    s.run_s += time.monotonic() - t0
    results, messages = _parse_run(res)
    complete = _completed(res)
    kind, why = _describe_death(res)
    for n, f in zip(names, full, strict=True):
        st = results.get(f)
        if st == "ok":
            s.outcomes[n] = TestOutcome(n, "pass")
        elif st == "FAILED":
            s.outcomes[n] = TestOutcome(n, "fail", _clean_message(messages.get(f, ""))[:500] if complete else
                                        "failed (message lost: another test of this candidate hung)")
        else:
            s.outcomes[n] = TestOutcome(n, "timeout" if res.timed_out else kind,
                                        f"no result within {idle:g}s" if res.timed_out else why)


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
                   failing_test=first_bad.name if first_bad else None, tests=outs, isolation=isolation_mode())
