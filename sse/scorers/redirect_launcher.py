"""Trusted launcher between a corpus test and the untrusted candidate binary.

argv: launcher.py CONFIG TEST_ID -- ARGS...   (written by sse_pytest_redirect, run with `python -I -S`)

It reads all of its stdin, runs `command + ARGS` with `sse.core.sandbox.run_sandboxed`
(rlimits, wall clock, scrubbed env, no network, throw-away uid / bwrap where available) in
the test's cwd, then relays stdout, stderr and the exit status (a signal death is re-raised
on itself, so the test sees the same negative returncode a real crash gives). Each run is
appended to the log the judge reads (timeouts, signals, capped output). After
`max_timeouts` timed-out runs in one suite, further runs are refused at once (killed),
so a looping program costs a few timeouts, not one per test.

Standalone (stdlib only): sandbox.py is loaded from its file, not through the sse package, and loads
the process runner (proc.py, copied beside it as sse_proc.py) the same way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time

# Variables a test may pass on to the program through `env=`; the pytest process itself runs
# with a scrubbed environment, so only what a test sets deliberately is here.
_NEVER_FORWARD_PREFIXES = ("LD_", "PYTHON", "PYTEST", "SSE_", "BASH_FUNC")
_CRASH_SIGNALS = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE,
                            signal.SIGKILL, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGTRAP})
_NEVER_FORWARD = frozenset({"PATH", "HOME", "TMPDIR", "PWD", "OLDPWD", "SHLVL", "_", "LANG", "LC_ALL"})


def _forward_env(baseline: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in os.environ.items():
        if k in _NEVER_FORWARD or k.startswith(_NEVER_FORWARD_PREFIXES):
            continue
        if baseline.get(k) == v:
            continue
        out[k] = v
    return out


def _open_up(root: str) -> None:
    """The binary runs as another uid: it must read and write the suite's folder like the Python did."""
    for d, _dirs, files in os.walk(root):
        try:
            os.chmod(d, 0o777)
        except OSError:
            pass
        for f in files:
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
                if not os.path.islink(p):
                    os.chmod(p, (st.st_mode & 0o7777) | 0o666)
            except OSError:
                pass


def _count_timeouts(log: str) -> int:
    n = 0
    try:
        with open(log, encoding="utf-8") as f:
            for line in f:
                if '"timed_out": true' in line:
                    n += 1
    except OSError:
        return 0
    return n


def main() -> None:
    cfg_path, test_id = sys.argv[1], sys.argv[2]
    args = sys.argv[4:] if len(sys.argv) > 3 and sys.argv[3] == "--" else sys.argv[3:]
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    stdin = b""
    try:
        if not os.isatty(0):
            stdin = sys.stdin.buffer.read()
    except (OSError, ValueError):
        stdin = b""
    log = cfg["log"]
    rec: dict[str, object] = {"test": test_id, "args": args[:20], "t": time.time()}
    if _count_timeouts(log) >= int(cfg.get("max_timeouts", 3)):
        rec.update(refused=True, timed_out=False)
        _append(log, rec)
        sys.stderr.write("sse: not run (the program already timed out repeatedly in this suite)\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    spec = importlib.util.spec_from_file_location("sse_sandbox_standalone", cfg["sandbox_py"])
    assert spec and spec.loader
    sandbox = importlib.util.module_from_spec(spec)
    sys.modules["sse_sandbox_standalone"] = sandbox
    spec.loader.exec_module(sandbox)
    root = cfg["root"]
    here = os.getcwd()
    _open_up(root)
    lim = cfg["limits"]
    limits = sandbox.SandboxLimits(wall_s=float(lim["wall_s"]), memory_mb=int(lim["memory_mb"]),
                                   nproc=int(lim["nproc"]), fsize_mb=int(lim["fsize_mb"]),
                                   max_output_bytes=int(lim["max_output_bytes"]))
    # cwd of the sandbox is the suite root (bound read-write); the program starts in the test's cwd.
    argv = ["/bin/sh", "-c", 'cd -- "$0" 2>/dev/null || cd -- "$HOME"; exec "$@"', here, *cfg["command"], *args]
    # The program sees the system (libraries, /usr/bin for the shell), its own folder and the suite
    # root, never the host's other files; the suite's test files (the expected outputs) read as empty.
    view = [(d, d) for d in ("/usr/bin",) if os.path.isdir(d)] if cfg.get("minimal_view") else None
    hide = [os.path.join(root, f) for f in cfg.get("hide", [])]
    res = sandbox.run_sandboxed(argv, cwd=root, stdin=stdin, limits=limits,
                                env=_forward_env(cfg.get("baseline_env", {})), ro_binds=cfg.get("ro_binds", []),
                                view=view, hide=hide)
    rc = res.returncode if res.returncode is not None else 1
    sig = res.signal
    # bwrap reports a child's signal death as exit status 128+N: show it the way a direct run would.
    if sig is None and rc > 128 and rc - 128 in _CRASH_SIGNALS:
        sig = rc - 128
    rec.update(returncode=res.returncode, signal=sig, timed_out=bool(res.timed_out),
               capped=bool(res.output_capped), wall_s=round(res.wall_s, 4), error=res.error,
               isolation=res.isolation)
    _append(log, rec)
    for stream, data in ((sys.stdout.buffer, res.stdout), (sys.stderr.buffer, res.stderr)):
        try:
            stream.write(data)
            stream.flush()
        except (BrokenPipeError, OSError):
            pass
    if res.error:
        sys.stderr.write(f"sse: harness error: {res.error}\n")
        sys.exit(125)
    if res.timed_out or res.output_capped:
        os.kill(os.getpid(), signal.SIGKILL)
    if sig:
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(1)
        sys.exit(128 + sig)
    sys.exit(rc)


def _append(log: str, rec: dict[str, object]) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
