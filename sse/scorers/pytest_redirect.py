"""pytest plugin: every invocation of the example's Python program becomes an invocation of the candidate.

Loaded into the (trusted) pytest run of a program example with `-p sse_pytest_redirect` from a
copy of this file; configured by the JSON file named in $SSE_REDIRECT_CONFIG. Standalone on
purpose (stdlib + pytest only): it runs in the corpus's pytest process, not in sse.

Why patch `subprocess.Popen` (plus `os.system`/`os.popen`) instead of a `python3` shim on PATH:
the tests name the interpreter in many ways (`python3`, `sys.executable`, an absolute pyenv path,
`uv run python`) and the program by relative or absolute path or `-m`; every subprocess helper
(`run`, `call`, `check_output`, `check_call`) goes through `subprocess.Popen`, so one rewrite of
argv sees all of them with the test's real cwd, stdin and env, and it counts invocations per
test (a test that never invokes the program is not a command test). The rewritten argv starts
the trusted launcher (`redirect_launcher.py`), which runs the untrusted binary with
`sse.core.sandbox.run_sandboxed` and relays its stdout, stderr and exit status.

Modes: "python" (certification against the real program: argv -> this interpreter + the
program), "exec" (argv -> launcher -> sandboxed command).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

_CFG: dict[str, Any] = {}
_STATE: dict[str, Any] = {"test": "", "counts": {}}
_PY_RE = re.compile(r"^python(\d+(\.\d+)?)?$")
_PY_FLAGS = frozenset("-u -B -I -E -s -S -O -OO -q -b -bb -d -v".split())
_PY_FLAGS_WITH_VALUE = frozenset({"-X", "-W"})
_ORIG_POPEN_INIT = subprocess.Popen.__init__
_ORIG_SYSTEM = os.system
_ORIG_POPEN_OS = os.popen


def _is_program(tok: str, cwd: str | None) -> bool:
    base = os.path.basename(tok)
    if base in _CFG["program_names"]:
        return True
    try:
        real = os.path.realpath(os.path.join(cwd or os.getcwd(), tok))
    except (OSError, ValueError):
        return False
    return real in _CFG["program_paths"]


def _is_python(tok: str) -> bool:
    base = os.path.basename(tok)
    if _PY_RE.match(base):
        return True
    try:
        return os.path.realpath(tok) == os.path.realpath(sys.executable)
    except OSError:
        return False


def program_args(argv: list[str], cwd: str | None) -> list[str] | None:
    """The program's own arguments when argv runs the example's program, else None."""
    toks = [os.fspath(t) if not isinstance(t, bytes) else t.decode() for t in argv]
    if not toks:
        return None
    i = 0
    if os.path.basename(toks[0]) == "uv" and len(toks) > 1 and toks[1] == "run":
        i = 2
        while i < len(toks) and toks[i].startswith("-") and toks[i] != "-m":
            i += 2 if toks[i] in ("--with", "--python", "-p", "--project", "--directory") else 1
        if i < len(toks) and toks[i] == "--":
            i += 1
    if i < len(toks) and _is_python(toks[i]):
        i += 1
        while i < len(toks):
            if toks[i] in _PY_FLAGS_WITH_VALUE:
                i += 2
            elif toks[i] in _PY_FLAGS:
                i += 1
            else:
                break
        if i < len(toks) and toks[i] == "-m":
            if i + 1 < len(toks) and toks[i + 1] == _CFG["module_name"]:
                return toks[i + 2:]
            return None
    if i < len(toks) and _is_program(toks[i], cwd):
        return toks[i + 1:]
    return None


def rewrite(argv: list[str], cwd: str | None) -> list[str] | None:
    args = program_args(argv, cwd)
    if args is None:
        return None
    _STATE["counts"][_STATE["test"]] = _STATE["counts"].get(_STATE["test"], 0) + 1
    if _CFG["mode"] == "python":
        return [sys.executable, _CFG["program_paths"][0], *args]
    return [sys.executable, "-I", "-S", _CFG["launcher"], _CFG["config_path"], _STATE["test"], "--", *args]


def _popen_init(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
    shell = kw.get("shell", False)
    cwd = kw.get("cwd")
    cwd = os.fspath(cwd) if cwd is not None else None
    if shell and isinstance(args, (str, bytes)):
        text = args.decode() if isinstance(args, bytes) else args
        try:
            new = rewrite(shlex.split(text), cwd)
        except ValueError:
            new = None
        if new is not None:
            args = shlex.join(new)
    elif isinstance(args, (list, tuple)):
        new = rewrite(list(args), cwd)
        if new is not None:
            args = new
            kw.pop("executable", None)
    elif isinstance(args, (str, bytes, os.PathLike)):
        new = rewrite([os.fspath(args) if not isinstance(args, bytes) else args.decode()], cwd)
        if new is not None:
            args = new
    _ORIG_POPEN_INIT(self, args, *a, **kw)


def _system(cmd: str) -> int:
    try:
        new = rewrite(shlex.split(cmd), None)
    except ValueError:
        new = None
    return _ORIG_SYSTEM(shlex.join(new) if new is not None else cmd)


def _os_popen(cmd: str, mode: str = "r", buffering: int = -1) -> Any:
    try:
        new = rewrite(shlex.split(cmd), None)
    except ValueError:
        new = None
    return _ORIG_POPEN_OS(shlex.join(new) if new is not None else cmd, mode, buffering)


def pytest_configure(config: Any) -> None:
    path = os.environ.get("SSE_REDIRECT_CONFIG")
    if not path:
        return
    with open(path, encoding="utf-8") as f:
        _CFG.update(json.load(f))
    _CFG["config_path"] = path
    subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
    os.system = _system
    os.popen = _os_popen


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _STATE["test"] = nodeid
    _STATE.setdefault("phases", {})[nodeid] = []


def pytest_runtest_logreport(report: Any) -> None:
    if not _CFG:
        return
    msg = ""
    if report.outcome == "failed":
        try:
            msg = str(report.longrepr.reprcrash.message)  # type: ignore[union-attr]
        except AttributeError:
            msg = str(report.longrepr)[-300:]
    _STATE["phases"].setdefault(report.nodeid, []).append((report.when, report.outcome, msg[:300]))


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if not _CFG:
        return
    phases = _STATE["phases"].pop(nodeid, [])
    outcome = "passed"
    message = ""
    for _when, out, msg in phases:
        if out == "failed":
            outcome, message = "failed", msg
            break
        if out == "skipped":
            outcome = "skipped"
    rec = {"test": nodeid, "outcome": outcome, "message": message,
           "invocations": _STATE["counts"].get(nodeid, 0)}
    with open(_CFG["results"], "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
