"""Program tasks: a Rust binary judged by the example's own pytest suite (see docs/programs.md).
Why one module of ~900 lines: certification, judging, mutation scores and differential plus cases all drive the one suite runner over the one certification.


Flow for one candidate:

1. Certification of the example (once per example content, cached in the store under
   "program_cert"): the suite runs against the Python program, against a program that always
   fails (exit 1, no output) and one that prints nothing (exit 0). A test is *kept* when it
   drives the program as a command (the redirect plugin counted at least one invocation), passes
   against the Python and fails against both fakes. Tests that pass against a fake are
   *discounted* (non-discriminating); tests that never invoke the program are *excluded*.
2. The candidate is built (`sse.scorers.program.build_program`: rustc, or cargo offline with the
   allowed Debian crates) and the kept tests run in a fresh copy of the folder (the Python
   program removed from it) with every invocation of the program redirected to the binary, which
   runs under `run_sandboxed` (sse/scorers/pytest_redirect.py, sse/scorers/redirect_launcher.py).
3. The verdict passes only when every kept test passes; `Verdict.tests` has per-test outcomes and
   `Verdict.meta` the two scores ("core": stdout and exit codes, "fidelity": help/usage text and
   error wording, classified from each test's AST) and the certification counts.

Examples without a kept test fall back to the differential mode (Python vs binary on argument
vectors; `meta["evidence"] == "differential"`, weaker evidence), else an infra_error.
`program_judge` is the `program` scorer (named in sse.scorers.registry; importing this module registers nothing).
"""

from __future__ import annotations

import ast
import atexit
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sse.core.errors import VerifyError
from sse.core.proc import run as run_process
from sse.core.records import Example, TestOutcome, Verdict
from sse.core.store import Store, content_key, file_key
from sse.scorers.program import build_program
from sse.task.config import GroundTruth, Limits
from sse.task.corpus import astmutants
from sse.task.corpus.plus import program_plus_path
from sse.task.corpus.sandboxed import sandbox_python

HERE = Path(__file__).parent
PLUGIN_SRC = HERE / "pytest_redirect.py"
LAUNCHER_SRC = HERE / "redirect_launcher.py"
SANDBOX_SRC = HERE.parent / "core" / "sandbox.py"
SUITE_OUTPUT_CAP = 64 << 20  # pytest -q output of a suite; far above any real one
PROC_SRC = HERE.parent / "core" / "proc.py"  # the sandbox's process runner, loaded beside it standalone
CERT_VERSION = 1
CERT_NS = "program_cert"
MAX_TIMEOUTS = 3  # timed-out invocations per suite run before the launcher refuses further runs
SUITE_SLACK_S = 60.0
DIFF_ARGS_FILE = "differential_args.txt"
WORKERS = max(1, min(4, (os.cpu_count() or 2)))
FAIL_COMMAND = ["/bin/sh", "-c", "exit 1"]
SILENT_COMMAND = ["/bin/sh", "-c", "exit 0"]
Category = Literal["core", "fidelity"]


# ------------------------------------------------------------------ classification
# argparse's own wording, matched case-sensitively: "ERROR: 2" printed by a program is its output
_FIDELITY_PHRASES = ("usage:", "invalid choice", "unrecognized arguments", "the following arguments are required",
                     "expected one argument", "invalid int value", "invalid float value", "not allowed with argument",
                     "error:", "show this help", "positional arguments", "options:", "optional arguments")
_HELP_FLAGS = frozenset({"--help", "-h", "--version"})
_STDERR_NAMES = frozenset({"stderr", "err", "error_output"})


def _asserted(fn: ast.AST) -> list[ast.AST]:
    """What a test compares: the expressions of its `assert`s and of unittest-style assert* calls."""
    out: list[ast.AST] = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Assert):
            out.append(n.test)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr.startswith("assert"):
            out.extend([*n.args, *(k.value for k in n.keywords)])
    return out


def _local_strings(fn: ast.AST) -> dict[str, list[str]]:
    """name -> string constants assigned to it in the function (`expected = "usage: ..."`)."""
    out: dict[str, list[str]] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign):
            consts = [c.value for c in ast.walk(n.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            for t in n.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).extend(consts)
    return out


def _fidelity_reason(nodes: list[ast.AST]) -> str | None:
    """Why a test is fidelity, from what it runs and compares: a help/version flag passed in a call,
    an assertion on stderr, or an asserted string in argparse's wording. Docstrings, comments and
    strings the test never compares do not count."""
    for root in nodes:
        for call in (n for n in ast.walk(root) if isinstance(n, ast.Call)):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                for c in ast.walk(arg):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        s = c.value.strip()
                        if s in _HELP_FLAGS or any(tok in _HELP_FLAGS for tok in s.split()):
                            return f"invokes {s!r}"
        strings = _local_strings(root)
        for expr in _asserted(root):
            for m in ast.walk(expr):
                name = m.attr if isinstance(m, ast.Attribute) else m.id if isinstance(m, ast.Name) else None
                if name in _STDERR_NAMES:
                    return "asserts on stderr"
                texts = [m.value] if isinstance(m, ast.Constant) and isinstance(m.value, str) else \
                    strings.get(m.id, []) if isinstance(m, ast.Name) else []
                for text in texts:
                    for p in _FIDELITY_PHRASES:
                        if p in text:
                            return f"asserts argparse wording {p!r}"
    return None


def classify_suite(folder: str | Path, test_files: Sequence[str]) -> dict[str, tuple[Category, str]]:
    """`file::Class::test` (no parameter suffix) -> (category, why), from each test's AST.

    A test is "fidelity" when it passes a help/version flag, asserts anything about stderr, or
    asserts a string in argparse's wording (usage:, invalid choice, error:, ... case-sensitive);
    else "core". Helper functions of the module that the test calls are read too (one level)."""
    out: dict[str, tuple[Category, str]] = {}
    for tf in test_files:
        tree = ast.parse((Path(folder) / tf).read_text(encoding="utf-8"))
        helpers = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and not n.name.startswith("test")}
        funcs: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test"):
                funcs.append((n.name, n))
            elif isinstance(n, ast.ClassDef):
                for m in n.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test"):
                        funcs.append((f"{n.name}::{m.name}", m))
        for qual, fn in funcs:
            called = {c.func.id for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            nodes: list[ast.AST] = [fn, *[helpers[c] for c in called if c in helpers
                                           and _fidelity_reason([helpers[c]]) and _asserts_in(helpers[c])]]
            reason = _fidelity_reason(nodes)
            out[f"{tf}::{qual}"] = ("fidelity", reason) if reason else ("core", "stdout / exit code")
    return out


def _asserts_in(fn: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(fn))


def _base_id(nodeid: str) -> str:
    return re.sub(r"\[.*\]$", "", nodeid)


# ------------------------------------------------------------------ running a suite
@dataclass
class SuiteRun:
    """Per-test results of one pytest run: nodeid -> {outcome, message, invocations}, plus launcher log."""

    results: dict[str, dict[str, Any]]
    log: list[dict[str, Any]]
    returncode: int | None
    timed_out: bool
    wall_s: float
    stderr_tail: str = ""


_tools_lock = threading.Lock()
_tools_dir: Path | None = None


def _tools() -> Path:
    """A per-process folder holding the plugin and launcher copies (readable by the sandbox uid)."""
    global _tools_dir
    with _tools_lock:
        if _tools_dir is None or not _tools_dir.exists():
            d = Path(tempfile.mkdtemp(prefix="sse-progtools-"))
            d.chmod(0o755)
            shutil.copyfile(PLUGIN_SRC, d / "sse_pytest_redirect.py")
            shutil.copyfile(LAUNCHER_SRC, d / "sse_redirect_launcher.py")
            shutil.copyfile(SANDBOX_SRC, d / "sse_sandbox.py")
            shutil.copyfile(PROC_SRC, d / "sse_proc.py")
            (d / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
            for f in d.iterdir():
                f.chmod(0o644)
            atexit.register(shutil.rmtree, d, True)
            _tools_dir = d
        return _tools_dir


def _copy_folder(example: Example, dest: Path, keep_program: bool) -> None:
    assert example.folder
    shutil.copytree(example.folder, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    if not keep_program:
        (dest / example.entry_point).unlink(missing_ok=True)  # the binary must not just exec the Python


def _suite_files(root: Path) -> list[str]:
    """The files that hold the suite's expectations: hidden from the program under test."""
    pats = ("test_*.py", "*_test.py", "conftest.py")
    return sorted({str(p.relative_to(root)) for pat in pats for p in root.rglob(pat)})


def _program_limits(limits: Limits) -> dict[str, Any]:
    return {"wall_s": limits.test_timeout_s, "memory_mb": limits.memory_mb, "nproc": 64, "fsize_mb": 64,
            "max_output_bytes": limits.max_output_bytes}


def run_suite(example: Example, mode: Literal["python", "exec"], command: Sequence[str] = (),
              limits: Limits | None = None, select: Sequence[str] | None = None,
              ro_binds: Sequence[str] = (), minimal_view: bool | None = None) -> SuiteRun:
    """Run the example's pytest suite in a fresh copy of its folder, with the program redirected.

    mode "python": to the Python program itself (counts invocations); "exec": to `command`
    (run sandboxed by the launcher). `select`: nodeids to run (default: the whole suite).
    `minimal_view` (default: for "exec") shows the command only system libraries, /usr/bin and its
    working copy, with the suite's files hidden; an interpreter run (a mutant of the corpus's own
    program) needs its standard library, so it gets the sandbox's ordinary read-only view."""
    if minimal_view is None:
        minimal_view = mode == "exec"
    if not example.folder:
        raise VerifyError(f"program example {example.id} has no folder", field="folder",
                          fix="load program corpora with sse.task.corpus.load_corpus")
    limits = limits or Limits()
    tools = _tools()
    work = Path(tempfile.mkdtemp(prefix=f"sse-suite-{example.id}-"))
    work.chmod(0o755)
    try:
        root = work / "suite"
        _copy_folder(example, root, keep_program=mode == "python")
        (root / ".tmp").mkdir()
        home = work / "home"
        home.mkdir()
        results_path, log_path = work / "results.jsonl", work / "launcher.jsonl"
        program_names = [example.entry_point]
        baseline = {"LANG": "C.UTF-8"}
        cfg = {
            "mode": mode, "program_names": program_names,
            "program_paths": [str((root / example.entry_point).resolve()),
                              str((Path(example.folder) / example.entry_point).resolve())],
            "module_name": Path(example.entry_point).stem, "launcher": str(tools / "sse_redirect_launcher.py"),
            "sandbox_py": str(tools / "sse_sandbox.py"), "command": list(command), "root": str(root),
            "results": str(results_path), "log": str(log_path), "limits": _program_limits(limits),
            "max_timeouts": MAX_TIMEOUTS, "baseline_env": baseline, "ro_binds": list(ro_binds),
            "minimal_view": minimal_view, "hide": _suite_files(root) if mode == "exec" else [],
        }
        cfg_path = work / "redirect.json"
        cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
        for p in (cfg_path,):
            p.chmod(0o644)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
               "TMPDIR": str(root / ".tmp"), "PYTHONPATH": str(tools), "PYTHONDONTWRITEBYTECODE": "1",
               "SSE_REDIRECT_CONFIG": str(cfg_path), **baseline}
        targets = list(select) if select is not None else list(example.meta.get("test_files") or [])
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "sse_pytest_redirect", "-p", "no:cacheprovider",
                "-c", str(tools / "pytest.ini"), "--rootdir", str(root), "--basetemp", str(root / ".pytest-tmp"),
                "--no-header", "-rN", "--tb=line", "-W", "ignore::DeprecationWarning", *targets]
        n = max(1, len(targets) if select is not None else int(example.meta.get("test_count", 10)))
        budget = SUITE_SLACK_S + limits.test_timeout_s * (MAX_TIMEOUTS + 1) + 2.0 * n
        # pipes a straggler keeps open are waited for up to the budget (a timeout), as before
        res = run_process(argv, cwd=root, env=env, timeout_s=budget, grace_s=budget, merge_stderr=True,
                          max_output_bytes=SUITE_OUTPUT_CAP)
        if res.spawn_error is not None:
            raise OSError(f"could not start the suite's pytest: {res.spawn_error}")
        return SuiteRun(results=_read_jsonl_by(results_path, "test"), log=_read_jsonl(log_path),
                        returncode=res.returncode, timed_out=res.timed_out, wall_s=res.wall_s,
                        stderr_tail=res.stdout.decode("utf-8", "replace")[-1500:])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for ln in text.splitlines():
        try:
            out.append(json.loads(ln))
        except json.JSONDecodeError:
            continue
    return out


def _read_jsonl_by(path: Path, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in _read_jsonl(path) if key in r}


# ------------------------------------------------------------------ certification
@dataclass
class Certification:
    """Which tests of an example count, and why the others do not."""

    example_id: str
    key: str
    tests: dict[str, dict[str, Any]]  # nodeid -> {status, category, why, python, fail, silent, invocations}
    python_wall_s: float = 0.0
    problem: str | None = None  # the suite could not be run at all

    @property
    def kept(self) -> list[str]:
        return [t for t, d in self.tests.items() if d["status"] == "kept"]

    def count(self, status: str) -> int:
        return sum(1 for d in self.tests.values() if d["status"] == status)

    def summary(self) -> dict[str, Any]:
        return {"example": self.example_id, "tests": len(self.tests), "kept": self.count("kept"),
                "discounted": self.count("non_discriminating"), "not_command": self.count("not_command"),
                "python_fails": self.count("python_fails"),
                "kept_core": sum(1 for d in self.tests.values() if d["status"] == "kept" and d["category"] == "core"),
                "kept_fidelity": sum(1 for d in self.tests.values()
                                     if d["status"] == "kept" and d["category"] == "fidelity"),
                "problem": self.problem}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def example_content_key(example: Example) -> str:
    """Hash of every file of the example's folder (tests and data included), not just the program."""
    assert example.folder
    root = Path(example.folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return content_key("program_example", example.entry_point,
                       [(str(p.relative_to(root)), file_key(p)) for p in files])


def certification_key(example: Example) -> str:
    return content_key(CERT_NS, CERT_VERSION, example_content_key(example), sys.version_info[:2],
                       file_key(PLUGIN_SRC), file_key(LAUNCHER_SRC))


def certify(example: Example, store: Store | None = None, limits: Limits | None = None) -> Certification:
    """Certify the example's suite (cached by content; see the module docstring)."""
    key = certification_key(example)
    if store is not None:
        cached = store.get(CERT_NS, key)
        if cached is not None:
            return Certification(**cached)
    limits = limits or Limits(test_timeout_s=10.0)
    cats = classify_suite(example.folder or "", example.meta.get("test_files") or [])
    with ThreadPoolExecutor(max_workers=3) as pool:  # three independent runs; mostly waiting on processes
        f_py = pool.submit(run_suite, example, "python", limits=limits)
        f_fail = pool.submit(run_suite, example, "exec", FAIL_COMMAND, limits=limits)
        f_silent = pool.submit(run_suite, example, "exec", SILENT_COMMAND, limits=limits)
        py, fail, silent = f_py.result(), f_fail.result(), f_silent.result()
    problem = None
    if not py.results:
        problem = f"the suite did not run against the Python: {py.stderr_tail[-300:]}"
    elif py.timed_out or fail.timed_out or silent.timed_out:
        problem = "a certification run exceeded its time budget (machine overloaded?); not cached"
    tests: dict[str, dict[str, Any]] = {}
    for nodeid, r in py.results.items():
        cat, why = cats.get(_base_id(nodeid), ("core", "not found in the AST"))
        f_out = fail.results.get(nodeid, {}).get("outcome", "missing")
        s_out = silent.results.get(nodeid, {}).get("outcome", "missing")
        if r["invocations"] == 0:
            status = "not_command"
        elif r["outcome"] != "passed":
            status = "python_fails"
        elif f_out == "passed" or s_out == "passed":
            status = "non_discriminating"
        else:
            status = "kept"
        tests[nodeid] = {"status": status, "category": cat, "why": why, "python": r["outcome"], "fail": f_out,
                         "silent": s_out, "invocations": r["invocations"]}
    cert = Certification(example.id, key, tests, round(py.wall_s, 3), problem)
    if store is not None and problem is None:
        store.put(CERT_NS, key, cert.to_dict())
    return cert


def certify_many(examples: Sequence[Example], store: Store | None = None,
                 workers: int = WORKERS) -> list[Certification]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda e: certify(e, store), examples))


# ------------------------------------------------------------------ judging a binary
def _outcome_status(nodeid: str, res: dict[str, Any] | None, log: list[dict[str, Any]]
                    ) -> tuple[Literal["pass", "fail", "timeout", "crash", "skipped"], str]:
    if res is None:
        return "timeout", "no result (the suite run was cut off)"
    runs = [r for r in log if r.get("test") == nodeid]
    if res["outcome"] == "passed":
        return "pass", ""
    if any(r.get("timed_out") or r.get("refused") for r in runs):
        return "timeout", "the program exceeded the time limit"
    if any(r.get("capped") for r in runs):
        return "crash", "the program exceeded the output limit"
    sig = next((r.get("signal") for r in runs if r.get("signal")), None)
    if sig:
        return "crash", f"the program was killed by signal {sig}"
    if res["outcome"] == "skipped":
        return "skipped", res.get("message", "")
    return "fail", str(res.get("message", ""))[:300]


def judge_binary(example: Example, cert: Certification, command: Sequence[str], limits: Limits,
                 ro_binds: Sequence[str] = ()) -> Verdict:
    """Run the certified tests with the program redirected to `command`; the Verdict (no build info)."""
    kept = cert.kept
    suite = run_suite(example, "exec", command, limits=limits, select=kept, ro_binds=ro_binds)
    if not suite.results and not suite.timed_out:  # pytest itself did not run: the harness, not the program
        return Verdict("infra_error", diagnostics=f"the suite did not run: {suite.stderr_tail[-600:]}",
                       run_s=suite.wall_s)
    outcomes: list[TestOutcome] = []
    scores: dict[str, dict[str, int]] = {"core": {"passed": 0, "total": 0}, "fidelity": {"passed": 0, "total": 0}}
    for nodeid in kept:
        st, msg = _outcome_status(nodeid, suite.results.get(nodeid), suite.log)
        outcomes.append(TestOutcome(nodeid, st, msg))
        cat = cert.tests[nodeid]["category"]
        scores[cat]["total"] += 1
        scores[cat]["passed"] += st == "pass"
    passed = sum(1 for o in outcomes if o.status == "pass")
    failing = [o for o in outcomes if o.status != "pass"]
    infra = [r for r in suite.log if r.get("error")]
    if infra and failing:
        return Verdict("infra_error", diagnostics=f"sandbox: {infra[0]['error']}"[:1500], tests=tuple(outcomes),
                       tests_passed=passed, tests_total=len(kept), run_s=suite.wall_s)
    if not failing:
        status = "pass"
    elif any(o.status == "timeout" for o in failing):
        status = "timeout"
    elif any(o.status == "crash" for o in failing):
        status = "crash"
    else:
        status = "test_failure"
    meta = {"evidence": "suite", **scores,
            "core_pass": scores["core"]["passed"] == scores["core"]["total"],
            "kept": len(kept), "discounted": cert.count("non_discriminating"),
            "not_command": cert.count("not_command"), "python_fails": cert.count("python_fails"),
            "certification_key": cert.key, "invocations": len(suite.log),
            "classification": {t: cert.tests[t]["category"] for t in kept}}
    diag = "" if not failing else "\n".join(f"{o.name}: {o.message}" for o in failing[:5])[:1500]
    return Verdict(status, tests_passed=passed, tests_total=len(kept), run_s=suite.wall_s, diagnostics=diag,
                   failing_test=failing[0].name if failing else None, tests=tuple(outcomes), meta=meta)


# ------------------------------------------------------------------ differential mode
def differential_argvs(example: Example) -> list[list[str]]:
    """Argument vectors for the differential mode: the folder's differential_args.txt (one
    shell-quoted argv per line, # comments), else derived from the program's argparse usage."""
    assert example.folder
    f = Path(example.folder) / DIFF_ARGS_FILE
    if f.exists():
        out = []
        for ln in f.read_text(encoding="utf-8").splitlines():
            if ln.strip() and not ln.lstrip().startswith("#"):
                out.append(shlex.split(ln))
        return out
    argvs: list[list[str]] = [[], ["--help"]]
    try:
        tree = ast.parse(example.python)
    except SyntaxError:
        return argvs
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_parser" \
                and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str):
            argvs.append([n.args[0].value, "--help"])
    return argvs


def differential(example: Example, command: Sequence[str], argvs: Sequence[Sequence[str]], limits: Limits,
                 ro_binds: Sequence[str] = ()) -> Verdict:
    """Compare stdout and exit code of the Python and the (sandboxed) binary on each argv."""
    from sse.core.sandbox import SandboxLimits, run_sandboxed

    assert example.folder
    outcomes = []
    t0 = time.monotonic()
    for argv in argvs:
        name = "diff[" + shlex.join(argv) + "]"
        work = Path(tempfile.mkdtemp(prefix="sse-diff-"))
        work.chmod(0o755)  # the sandbox uid must reach its folder
        try:
            py_dir, rs_dir = work / "py", work / "rs"
            _copy_folder(example, py_dir, keep_program=True)
            _copy_folder(example, rs_dir, keep_program=False)
            sl = SandboxLimits(wall_s=limits.test_timeout_s, memory_mb=limits.memory_mb,
                               max_output_bytes=limits.max_output_bytes)
            # the corpus program is untrusted code too: it runs in the sandbox, like the binary
            py = run_sandboxed([sandbox_python(), example.entry_point, *argv], cwd=str(py_dir), limits=sl)
            if py.timed_out or py.error or py.output_capped:
                outcomes.append(TestOutcome(name, "skipped", "the Python timed out or could not run"))
                continue
            rs = run_sandboxed([*command, *argv], cwd=str(rs_dir), limits=sl, ro_binds=ro_binds,
                               view=[("/usr/bin", "/usr/bin")], hide=[str(rs_dir / f) for f in _suite_files(rs_dir)])
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if rs.timed_out:
            outcomes.append(TestOutcome(name, "timeout", "the program exceeded the time limit"))
        elif rs.signal or rs.output_capped:
            outcomes.append(TestOutcome(name, "crash", f"signal {rs.signal}" if rs.signal else "output limit"))
        elif rs.returncode == py.returncode and rs.stdout == py.stdout:
            outcomes.append(TestOutcome(name, "pass"))
        else:
            outcomes.append(TestOutcome(name, "fail", f"exit {rs.returncode} vs {py.returncode}; stdout "
                                        f"{rs.stdout[:80]!r} vs {py.stdout[:80]!r}"))
    counted = [o for o in outcomes if o.status != "skipped"]
    passed = sum(o.status == "pass" for o in counted)
    failing = [o for o in counted if o.status != "pass"]
    status = "pass" if counted and not failing else "timeout" if any(o.status == "timeout" for o in failing) \
        else "crash" if any(o.status == "crash" for o in failing) else "test_failure" if failing else "infra_error"
    return Verdict(status, tests_passed=passed, tests_total=len(counted), run_s=time.monotonic() - t0,
                   tests=tuple(outcomes), failing_test=failing[0].name if failing else None,
                   diagnostics="" if counted else "no argument vector could be run against the Python",
                   meta={"evidence": "differential", "weaker_evidence": True,
                         "core": {"passed": passed, "total": len(counted)}, "fidelity": {"passed": 0, "total": 0}})


# ------------------------------------------------------------------ mutation score of a suite
MUTATION_NS = "program_mutation"
MUTATION_VERSION = 1
MAX_PROGRAM_MUTANTS = 10
PLUS_VERSION = 1
PLUS_MAX = 20
PLUS_CANDIDATES = 80
PLUS_KILLS = 2  # distinct plus argvs kept per killed mutant


@dataclass
class MutationScore:
    """How many AST mutants of the program its kept tests tell apart, and which tests tell none."""

    example_id: str
    key: str
    mutants: list[dict[str, Any]]  # {id, description, killed_by: [nodeid]}
    tests: list[str]  # kept tests that pass against the sandboxed Python (the ones scored)
    control_failures: list[str]  # kept tests that fail against the sandboxed Python: not scored
    invocations: list[dict[str, Any]]  # {test, args} of the control run: the seeds of the plus argvs
    problem: str | None = None

    @property
    def killed(self) -> int:
        return sum(1 for m in self.mutants if m["killed_by"])

    @property
    def score(self) -> float | None:
        return self.killed / len(self.mutants) if self.mutants else None

    @property
    def weak(self) -> list[str]:
        """Kept tests that kill no mutant: they pass whatever the program computes (within reach)."""
        killers = {t for m in self.mutants for t in m["killed_by"]}
        return [t for t in self.tests if t not in killers]

    def summary(self) -> dict[str, Any]:
        return {"example": self.example_id, "mutants": len(self.mutants), "killed": self.killed,
                "score": self.score, "weak": len(self.weak), "scored_tests": len(self.tests),
                "control_failures": len(self.control_failures), "problem": self.problem}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _variant_dir(example: Example, source: str) -> Path:
    """A readable copy of the example's folder with `source` as the program (for the sandbox uid)."""
    assert example.folder
    d = Path(tempfile.mkdtemp(prefix="sse-variant-"))
    d.chmod(0o755)
    prog = d / "prog"
    shutil.copytree(example.folder, prog, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    (prog / example.entry_point).write_text(source, encoding="utf-8")
    for q in [prog, *prog.rglob("*")]:
        q.chmod(0o755 if q.is_dir() else 0o644)
    return prog


def _run_variant(example: Example, source: str, kept: Sequence[str], limits: Limits) -> SuiteRun:
    """The kept tests with every invocation running `source` as the program, in the sandbox."""
    prog = _variant_dir(example, source)
    try:
        return run_suite(example, "exec", [sandbox_python(), str(prog / example.entry_point)], limits=limits,
                         select=kept, ro_binds=[str(prog)], minimal_view=False)
    finally:
        shutil.rmtree(prog.parent, ignore_errors=True)


def mutation_key(example: Example, cert: Certification, max_mutants: int) -> str:
    return content_key(MUTATION_NS, MUTATION_VERSION, astmutants.MUTATOR_VERSION, cert.key, sorted(cert.kept),
                       max_mutants)


def mutation_score(example: Example, cert: Certification, store: Store | None = None, limits: Limits | None = None,
                   max_mutants: int = MAX_PROGRAM_MUTANTS, workers: int = 2) -> MutationScore:
    """Run the kept tests against up to `max_mutants` AST mutants of the program (cached by content).

    A mutant is killed by a test that passes against the (sandboxed) Python and fails against it.
    Equivalent mutants exist; the score is reported as measured."""
    key = mutation_key(example, cert, max_mutants)
    if store is not None:
        cached = store.get(MUTATION_NS, key)
        if cached is not None:
            return MutationScore(**cached)
    limits = limits or Limits(test_timeout_s=10.0)
    kept = cert.kept
    if not kept:
        return MutationScore(example.id, key, [], [], [], [], "no kept test")
    control = _run_variant(example, example.python, kept, limits)
    ok = [t for t in kept if control.results.get(t, {}).get("outcome") == "passed"]
    bad = [t for t in kept if t not in ok]
    invocations = [{"test": r.get("test"), "args": r.get("args", [])} for r in control.log if "args" in r]
    ms = astmutants.mutants(example.python, limit=max_mutants)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        runs = list(pool.map(lambda m: _run_variant(example, m.source, ok, limits), ms))
    mutants = []
    problem = None if ok else f"no kept test passes against the sandboxed Python: {control.stderr_tail[-300:]}"
    for m, r in zip(ms, runs, strict=True):
        if not r.results and not r.timed_out:
            problem = f"a mutant's suite run did not start: {r.stderr_tail[-200:]}"
        mutants.append({"id": m.id, "description": m.description,
                        "killed_by": [t for t in ok if r.results.get(t, {}).get("outcome") != "passed"]})
    ms_out = MutationScore(example.id, key, mutants, ok, bad, invocations, problem)
    if store is not None and problem is None and not control.timed_out:
        store.put(MUTATION_NS, key, ms_out.to_dict())
    return ms_out


# ------------------------------------------------------------------ differential plus cases for programs
_DIFF_RUNNER = r"""
import hashlib, json, os, runpy, shutil, signal, sys
job = json.loads(sys.stdin.read())
src, entry, timeout = job["folder"], job["entry"], job["timeout"]
out = []
for vi, source in enumerate(job["variants"]):
    row = []
    for ai, argv in enumerate(job["argvs"]):
        work = os.path.join(os.getcwd(), "run-%d-%d" % (vi, ai))
        shutil.copytree(src, work)
        with open(os.path.join(work, entry), "w", encoding="utf-8") as f:
            f.write(source)
        so = os.path.join(os.getcwd(), "stdout-%d-%d" % (vi, ai))
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(so, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                nul = os.open(os.devnull, os.O_RDWR)
                os.dup2(nul, 2)
                os.dup2(nul, 0)
                os.chdir(work)
                sys.path.insert(0, work)
                sys.argv = [entry] + list(argv)
                signal.alarm(int(timeout))
                code = 0
                try:
                    runpy.run_path(entry, run_name="__main__")
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                except BaseException:
                    code = 1
                sys.stdout.flush()
            finally:
                pass
            os._exit(code & 0xFF)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        with open(so, "rb") as f:
            data = f.read()
        row.append([rc, hashlib.sha256(data).hexdigest(), len(data)])
        shutil.rmtree(work, ignore_errors=True)
        os.unlink(so)
    out.append(row)
sys.stdout.write(json.dumps(out))
"""


def _mutated_argvs(argvs: Sequence[Sequence[str]]) -> list[list[str]]:
    """Argument vectors with one value changed, systematically: each number +-1, negated, 0 and
    doubled; each pair of neighbouring values swapped; each value replaced by another seen at the
    same position in another invocation (a subcommand, a choice)."""
    by_pos: dict[int, list[str]] = {}
    for a in argvs:
        for i, t in enumerate(a):
            if t not in by_pos.setdefault(i, []):
                by_pos[i].append(t)
    out: list[list[str]] = []

    def add(b: list[str], a: Sequence[str]) -> None:
        if b != list(a) and b not in out:
            out.append(b)

    for a in argvs:
        vals = [i for i, t in enumerate(a) if not t.startswith("-") or _number(t) is not None]
        for i in vals:
            num = _number(a[i])
            if num is not None:
                for new in (num + 1, num - 1, -num, 0, num * 2):
                    add([*a[:i], str(new) if isinstance(num, int) else repr(float(new)), *a[i + 1:]], a)
            for alt in by_pos.get(i, []):
                add([*a[:i], alt, *a[i + 1:]], a)
        for i, j in zip(vals, vals[1:], strict=False):
            b = list(a)
            b[i], b[j] = b[j], b[i]
            add(b, a)
    return out


def _number(t: str) -> int | float | None:
    try:
        return int(t)
    except ValueError:
        try:
            f = float(t)
        except ValueError:
            return None
        return f if f == f and abs(f) != float("inf") else None


def _run_matrix(example: Example, variants: Sequence[str], argvs: Sequence[Sequence[str]], timeout_s: float
                ) -> list[list[list[Any]]] | None:
    """[variant][argv] -> [exit code, sha256 of stdout, length]: every run in ONE sandboxed interpreter
    that forks per run (a fresh copy of the folder each time)."""
    from sse.core.sandbox import SandboxLimits, run_sandboxed

    prog = _variant_dir(example, example.python)
    try:
        job = {"folder": str(prog), "entry": example.entry_point, "variants": list(variants),
               "argvs": [list(a) for a in argvs], "timeout": max(1, int(timeout_s))}
        wall = 30.0 + len(variants) * len(argvs) * (timeout_s + 0.5)
        r = run_sandboxed([sandbox_python(), "-I", "-c", _DIFF_RUNNER], stdin=json.dumps(job).encode(),
                          limits=SandboxLimits(wall_s=wall, memory_mb=2048, nproc=64, max_output_bytes=16 << 20),
                          ro_binds=[str(prog)])
    finally:
        shutil.rmtree(prog.parent, ignore_errors=True)
    if r.returncode != 0 or r.timed_out or r.error:
        return None
    return json.loads(r.stdout)


def plus_key(example: Example) -> str:
    return content_key("program_plus", PLUS_VERSION, astmutants.MUTATOR_VERSION, example_content_key(example))


def plus_path(example: Example) -> Path:
    return program_plus_path(example)


def generate_program_plus(example: Example, ms: MutationScore, timeout_s: float = 5.0
                          ) -> dict[str, Any]:
    """Differential plus argvs for one program: the suite's own invocations and mutated copies, run on
    the Python and its mutants; kept greedily while they kill a mutant (up to PLUS_KILLS per mutant)
    that the Python's own output tells apart. Stored beside the corpus (`_plus/<id>.json`)."""
    seeds: list[list[str]] = []
    for inv in ms.invocations:
        a = [str(x) for x in inv["args"]]
        if a not in seeds:
            seeds.append(a)
    mutated = [a for a in _mutated_argvs(seeds) if a not in seeds]
    room = max(0, PLUS_CANDIDATES - len(seeds))
    step = len(mutated) / room if room and len(mutated) > room else 1.0
    cands = seeds + [mutated[int(i * step)] for i in range(min(room, len(mutated)))]  # spread, deterministic
    mutants = astmutants.mutants(example.python, limit=MAX_PROGRAM_MUTANTS)
    doc: dict[str, Any] = {"format": 1, "example_id": example.id, "key": plus_key(example),
                           "provenance": {"version": PLUS_VERSION, "seed_argvs": len(seeds),
                                          "candidates": len(cands), "mutants": len(mutants)}, "argvs": []}
    if not cands:
        doc["provenance"]["note"] = "the suite's control run recorded no invocation"
        return doc
    mat = _run_matrix(example, [example.python, *[m.source for m in mutants]], cands, timeout_s)
    if mat is None:
        doc["provenance"]["error"] = "the sandboxed runs failed"
        return doc
    orig = mat[0]
    feats = {j: {m.id for m, row in zip(mutants, mat[1:], strict=True) if row[j][:2] != orig[j][:2]}
             for j in range(len(cands)) if orig[j][0] >= 0}  # a Python killed by a signal is no reference
    need = {mid: min(PLUS_KILLS, sum(mid in f for f in feats.values())) for f in feats.values() for mid in f}
    have = dict.fromkeys(need, 0)
    chosen: list[int] = []
    while len(chosen) < PLUS_MAX:
        pool = [j for j in feats if j not in chosen]
        best = max(pool, key=lambda j: (sum(have[m] < need[m] for m in feats[j]), -j), default=None)
        if best is None or not any(have[m] < need[m] for m in feats[best]):
            break
        chosen.append(best)
        for m in feats[best]:
            have[m] = have.get(m, 0) + 1
    killed_suite = {m["id"] for m in ms.mutants if m["killed_by"]}
    killed_plus = set().union(*(feats[j] for j in chosen)) if chosen else set()
    doc["argvs"] = [{"argv": cands[j], "kills": sorted(feats[j]), "seed": cands[j] in seeds} for j in sorted(chosen)]
    doc["provenance"].update({"kept": len(chosen), "killed_by_plus": len(killed_plus),
                              "killed_by_suite": len(killed_suite & {m.id for m in mutants}),
                              "killed_by_plus_not_suite": sorted(killed_plus - killed_suite)})
    return doc


def save_program_plus(example: Example, doc: dict[str, Any]) -> Path:
    path = plus_path(example)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_program_plus(example: Example) -> list[list[str]] | None:
    """The stored plus argvs of a program example, or None when missing or stale."""
    try:
        doc = json.loads(plus_path(example).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, AssertionError):
        return None
    if doc.get("key") != plus_key(example):
        return None
    return [list(map(str, a["argv"])) for a in doc.get("argvs", [])]


def stored_suite_evidence(examples: Sequence[Example], store: Store) -> dict[str, Any]:
    """Suite mutation scores and differential plus sets already measured (`sse program-certify --mutants
    --plus`), for the report inputs. Read from the store and `_plus/`, never computed here: running every
    mutant of every suite is minutes of sandboxed work, which belongs to that command, not to a report."""
    rows: list[dict[str, Any]] = []
    for e in examples:
        if e.kind != "program" or not e.folder:
            continue
        row: dict[str, Any] = {"example": e.id, "measured": False}
        cert_d = store.get(CERT_NS, certification_key(e))
        if cert_d is not None:
            cert = Certification(**cert_d)
            ms_d = store.get(MUTATION_NS, mutation_key(e, cert, MAX_PROGRAM_MUTANTS))
            if ms_d is not None:
                ms = MutationScore(**ms_d)
                row.update(ms.summary(), measured=True, weak_tests=ms.weak)
        try:
            doc = json.loads(plus_path(e).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            doc = None
        if doc is not None and doc.get("key") == plus_key(e):
            prov = doc.get("provenance") or {}
            row["plus"] = {"argvs": len(doc.get("argvs") or []), "killed_by_plus": prov.get("killed_by_plus"),
                           "killed_by_plus_not_suite": len(prov.get("killed_by_plus_not_suite") or [])}
        rows.append(row)
    measured = [r for r in rows if r["measured"]]
    mutants = sum(int(r["mutants"]) for r in measured)
    killed = sum(int(r["killed"]) for r in measured)
    return {"examples": len(rows), "measured": len(measured), "mutants": mutants, "killed": killed,
            "score": killed / mutants if mutants else None,
            "weak_tests": sum(int(r["weak"]) for r in measured),
            "scored_tests": sum(int(r["scored_tests"]) for r in measured),
            "with_plus": sum(1 for r in rows if r.get("plus", {}).get("argvs")),
            "plus_argvs": sum(int(r.get("plus", {}).get("argvs") or 0) for r in rows),
            "killed_by_plus_not_suite": sum(int(r.get("plus", {}).get("killed_by_plus_not_suite") or 0)
                                            for r in rows),
            "how": "sse program-certify --corpus CORPUS --mutants --plus (stored results; not rerun by the report)",
            "per_example": rows}


def plus_verdict(example: Example, command: Sequence[str], limits: Limits, ro_binds: Sequence[str] = ()
                 ) -> Verdict | None:
    """The binary vs the Python on the stored plus argvs (stdout and exit code); None without any."""
    argvs = load_program_plus(example)
    if not argvs:
        return None
    v = differential(example, command, argvs, limits, ro_binds=ro_binds)
    return replace(v, meta={**v.meta, "evidence": "differential_plus"})


# ------------------------------------------------------------------ the registered judge
def _binary_command(binary: Path, example: Example) -> tuple[list[str], list[str]]:
    """Copy the binary under the program's own file name (argparse-like usage lines print argv[0])."""
    bindir = binary.parent / "bin"
    bindir.mkdir(exist_ok=True)
    bindir.chmod(0o755)
    target = bindir / example.entry_point
    shutil.copy2(binary, target)
    target.chmod(0o755)
    return [str(target)], [str(bindir)]


def judge_one(example: Example, rust: str, gt: GroundTruth, store: Store | None) -> Verdict:
    try:
        cert = certify(example, store)
    except (OSError, subprocess.SubprocessError, SyntaxError, VerifyError) as e:
        return Verdict("infra_error", diagnostics=f"certification failed: {e}"[:1500])
    if cert.problem:
        return Verdict("infra_error", diagnostics=f"certification failed: {cert.problem}"[:1500])
    build = build_program(rust, gt.crates, timeout_s=gt.limits.compile_timeout_s)
    try:
        failed = build.verdict_if_failed()
        if failed is not None:
            return failed
        assert build.binary is not None
        command, binds = _binary_command(build.binary, example)
        if cert.kept:
            v = judge_binary(example, cert, command, gt.limits, ro_binds=binds)
            pv = plus_verdict(example, command, gt.limits, ro_binds=binds)
            if pv is not None:  # scored separately: the suite's verdict stands, the plus cases sit beside it
                v = replace(v, meta={**v.meta, "plus": {"status": pv.status, "passed": pv.tests_passed,
                                                        "total": pv.tests_total,
                                                        "failing": pv.failing_test, "diagnostics": pv.diagnostics[:500]}})
        else:
            argvs = differential_argvs(example)
            v = differential(example, command, argvs, gt.limits, ro_binds=binds)
            if not v.tests:
                v = Verdict("infra_error", diagnostics="no certified test and no argument vector for the "
                                                       "differential mode")
        return replace(v, compile_s=build.compile_s)
    finally:
        build.cleanup()


def program_judge(requests: Sequence[Any]) -> list[Verdict]:
    """The `program` scorer (sse.scorers.registry): VerifyRequests of program examples -> Verdicts."""
    store = Store()
    try:
        def one(r: Any) -> Verdict:
            try:
                return judge_one(r.example, r.rust or "", r.ground_truth, store)
            except VerifyError as e:
                return Verdict("infra_error", diagnostics=e.one_line()[:1500])

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return list(pool.map(one, requests))
    finally:
        store.close()




__all__ = ["Certification", "MutationScore", "certify", "certify_many", "classify_suite", "differential",
           "differential_argvs", "generate_program_plus", "judge_binary", "load_program_plus", "mutation_score",
           "plus_verdict", "program_judge", "run_suite", "save_program_plus"]
