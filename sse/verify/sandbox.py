"""Run untrusted binaries (and the compiler) with limits, isolation and a clean-up that cannot be dodged.

What is in force, in order of preference (detected once per process, `isolation_mode()`):

- `uid+netns`: when we are root, the child drops to a throw-away uid (one per run, from a
  high range without a passwd entry), so RLIMIT_NPROC really bounds a fork bomb (root is exempt
  from it), the process cannot write anything it does not own, and after the run *every*
  process of that uid is killed (`kill(-1)` from a helper running as that uid), which also
  catches children that left the process group with setsid. The network is a fresh empty
  namespace (unshare(CLONE_NEWNET)), so connect() fails.
- `netns`: not root but `unshare -rn` works: an empty network namespace, rlimits, process group kill.
- `rlimits`: only rlimits, a new session and process-group kill.

Always: wall-clock timeout (kill the process group), RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE,
RLIMIT_NPROC, RLIMIT_CORE=0, stdout/stderr capped (the run is killed when the cap is
exceeded), a scrubbed environment (PATH, LANG, HOME=cwd, RUST_BACKTRACE=0 only), and a
fresh temporary directory as cwd when none is given.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

CLONE_NEWNET = 0x40000000
UID_BASE = 61000
UID_SLOTS = 2000


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 10.0
    cpu_s: float | None = None  # defaults to wall_s + 1
    memory_mb: int = 1024
    nproc: int = 64
    fsize_mb: int = 64
    max_output_bytes: int = 1 << 20
    drop_privileges: bool = True  # only when root; compilers need to read /root/.rustup -> False
    network: bool = False


@dataclass
class SandboxResult:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    wall_s: float
    timed_out: bool = False
    output_capped: bool = False
    signal: int | None = None
    isolation: str = ""
    error: str | None = None  # the harness failed to start the process
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and self.returncode == 0 and not self.output_capped


_libc = ctypes.CDLL(None, use_errno=True)
_mode: str | None = None
_mode_lock = threading.Lock()
_uid_counter = itertools.count(os.getpid() % UID_SLOTS)


def _can_unshare_net_in_child() -> bool:
    try:
        r = subprocess.run(["/bin/true"], preexec_fn=_unshare_net, timeout=10, capture_output=True)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _unshare_net() -> None:
    if _libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")


def isolation_mode() -> str:
    """The isolation this machine allows, detected once per process (part of verdict keys)."""
    global _mode
    with _mode_lock:
        if _mode is None:
            forced = os.environ.get("SSE_SANDBOX")
            if forced in ("uid+netns", "netns", "rlimits"):
                _mode = forced
            elif os.geteuid() == 0 and _can_unshare_net_in_child():
                _mode = "uid+netns"
            elif shutil.which("unshare") and subprocess.run(
                ["unshare", "-rn", "/bin/true"], capture_output=True, timeout=10
            ).returncode == 0:
                _mode = "netns"
            else:
                _mode = "rlimits"
        return _mode


def scrubbed_env(home: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "RUST_BACKTRACE": "0",
    }
    if extra:
        env.update(extra)
    return env


def _next_uid() -> int:
    return UID_BASE + next(_uid_counter) % UID_SLOTS


def _kill_uid(uid: int) -> None:
    """Kill every process owned by uid: a helper that becomes uid and calls kill(-1, SIGKILL)."""

    def become() -> None:
        os.setgid(uid)
        os.setuid(uid)

    for _ in range(3):
        try:
            subprocess.run(
                ["/bin/sh", "-c", "kill -9 -1 2>/dev/null; exit 0"],
                preexec_fn=become, timeout=10, capture_output=True,
            )
        except (OSError, subprocess.SubprocessError):
            return
        if not _uid_has_processes(uid):
            return
        time.sleep(0.05)


def _uid_has_processes(uid: int) -> bool:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                return True
        except OSError:
            continue
    return False


def run_sandboxed(
    argv: list[str],
    cwd: str | None = None,
    stdin: bytes | None = None,
    limits: SandboxLimits | None = None,
    env: dict[str, str] | None = None,
) -> SandboxResult:
    """Run argv under the sandbox; never raises for the child's behaviour (see SandboxResult)."""
    limits = limits or SandboxLimits()
    mode = isolation_mode()
    own_tmp = None
    if cwd is None:
        own_tmp = tempfile.mkdtemp(prefix="sse-sbx-")
        cwd = own_tmp
    uid: int | None = None
    if mode == "uid+netns" and limits.drop_privileges:
        uid = _next_uid()
        os.chmod(cwd, 0o777)
    full_env = scrubbed_env(cwd, env)
    cpu = int(limits.cpu_s if limits.cpu_s is not None else limits.wall_s + 1) + 1
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.fsize_mb * 1024 * 1024

    def preexec() -> None:
        os.setsid()
        if mode == "uid+netns" and not limits.network:
            _unshare_net()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    cmd = list(argv)
    if mode == "netns" and not limits.network:
        cmd = ["unshare", "-rn", "--", *cmd]
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=full_env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec, close_fds=True,
        )
    except (OSError, subprocess.SubprocessError) as e:
        if own_tmp:
            shutil.rmtree(own_tmp, ignore_errors=True)
        return SandboxResult(None, b"", b"", 0.0, isolation=mode, error=f"could not start {argv[0]}: {e}")
    out, err, timed_out, capped = _pump(proc, stdin, limits)
    wall = time.monotonic() - t0
    _kill_group(proc.pid)
    if uid is not None:
        _kill_uid(uid)
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if own_tmp:
        shutil.rmtree(own_tmp, ignore_errors=True)
    return SandboxResult(rc, out, err, wall, timed_out=timed_out, output_capped=capped, signal=sig, isolation=mode)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _pump(proc: subprocess.Popen[bytes], stdin: bytes | None, limits: SandboxLimits) -> tuple[bytes, bytes, bool, bool]:
    """Read stdout/stderr up to the cap, feed stdin, enforce the wall clock."""
    deadline = time.monotonic() + limits.wall_s
    bufs: dict[int, bytearray] = {}
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    for f in (proc.stdout, proc.stderr):
        os.set_blocking(f.fileno(), False)
        sel.register(f, selectors.EVENT_READ)
        bufs[f.fileno()] = bytearray()
    if proc.stdin is not None:
        writer = threading.Thread(target=_feed, args=(proc.stdin, stdin or b""), daemon=True)
        writer.start()
    timed_out = capped = False
    open_count = 2
    while open_count:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(left, 0.5)):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fileobj)
                open_count -= 1
                continue
            bufs[key.fd] += chunk
            if sum(len(b) for b in bufs.values()) > limits.max_output_bytes:
                capped = True
                open_count = 0
                break
    if timed_out or capped:
        _kill_group(proc.pid)
    sel.close()
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()) if not (timed_out or capped) else 5)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        proc.kill()
        proc.wait()
    out = bytes(bufs[proc.stdout.fileno()])[: limits.max_output_bytes]
    err = bytes(bufs[proc.stderr.fileno()])[: limits.max_output_bytes]
    proc.stdout.close()
    proc.stderr.close()
    return out, err, timed_out, capped


def _feed(pipe: object, data: bytes) -> None:
    try:
        pipe.write(data)  # type: ignore[attr-defined]
        pipe.close()  # type: ignore[attr-defined]
    except (BrokenPipeError, OSError, ValueError):
        pass
