"""Run untrusted binaries (and the compiler) with limits, isolation and a clean-up that cannot be dodged.

What is in force, in order of preference (detected once per process, `isolation_mode()`):

- `bwrap+uid`: when we are root and bubblewrap works: bwrap (as root, no user namespace) builds
  the view, new pid/ipc/uts/net namespaces, and `setpriv` drops every capability and becomes the
  throw-away uid before the command runs. A run may ask for a minimal view (`view=`): an empty
  root with only the system libraries, the given read-only binds and the work folder, so neither
  the compiler nor the program can read the host (sources under /root included, bound by bwrap).
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
import fcntl
import itertools
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__:
    from sse.core.proc import run as run_process
else:  # loaded from its file by the redirect launcher (no sse package there): proc.py is copied beside it
    import importlib.util as _ilu
    import sys as _sys

    _spec = _ilu.spec_from_file_location("sse_proc_standalone", Path(__file__).with_name("sse_proc.py"))
    assert _spec is not None and _spec.loader is not None
    _proc = _ilu.module_from_spec(_spec)
    _sys.modules["sse_proc_standalone"] = _proc  # dataclasses look their module up by name
    _spec.loader.exec_module(_proc)
    run_process = _proc.run

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
    idle_s: float | None = None  # kill when no output arrives for this long (per-test timeout of libtest)


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


MODES = ("bwrap+uid", "uid+netns", "bwrap", "netns", "rlimits")
UID_MODES = ("bwrap+uid", "uid+netns")
BWRAP_MODES = ("bwrap+uid", "bwrap")


SETPRIV = "/usr/bin/setpriv"
# What a dynamically linked program needs from the host in a minimal view (the C library and
# loader); /lib and /lib64 are symlinks into them on merged-/usr systems.
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64")


PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def _dirs(paths: Sequence[str], made: set[str]) -> list[str]:
    """`--dir` for every missing ancestor, world-traversable (bwrap would make them 0700 as root,
    closed to the throw-away uid)."""
    out: list[str] = []
    for p in paths:
        for a in _ancestors(p):
            if a not in made:
                made.add(a)
                out += ["--perms", "0755", "--dir", a]
    return out


def _bwrap_argv(cwd: str, ro: list[str], network: bool, view: Sequence[tuple[str, str]] | None = None,
                uid: int | None = None, hide: Sequence[str] = ()) -> list[str]:
    """Private /tmp, /var/tmp and /dev/shm, the work folder writable, new pid/ipc/uts (and
    network) namespaces, killed with its parent. The rest is the read-only host, or with `view`
    only the system libraries and the (host, sandbox) pairs of `view`, read-only.
    With `uid`, bwrap runs as root and `setpriv` becomes uid (no capabilities) inside."""
    bw = shutil.which("bwrap") or "bwrap"
    if view is None:
        argv = [bw, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm"]
        # Folders bwrap creates on those private mounts must stay traversable by the uid.
        made = set(PRIVATE_TMP)
        on_tmp = [p for p in [*ro, cwd] if any(p.startswith(t + "/") for t in PRIVATE_TMP)]
        for d in ro:
            if d != cwd:
                argv += [*(_dirs([d], made) if d in on_tmp else []), "--ro-bind", d, d]
        if cwd in on_tmp:
            argv += _dirs([cwd], made)
    else:
        binds = [(d, d) for d in SYSTEM_LIBS if os.path.isdir(d)]
        binds += [(str(h), str(s)) for h, s in view] + [(d, d) for d in ro if d != cwd]
        if uid is not None:
            binds.append((SETPRIV, SETPRIV))
        made: set[str] = {"/tmp"}
        argv = [bw, "--perms", "0755", "--tmpfs", "/", "--dev", "/dev", "--proc", "/proc",
                "--perms", "01777", "--tmpfs", "/tmp"]
        for host, inside in binds:
            argv += [*_dirs([inside], made), "--ro-bind", host, inside]
        for link, target in (("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/bin", "usr/bin")):
            argv += ["--symlink", target, link]
        argv += _dirs([cwd], made)
    argv += ["--bind", cwd, cwd]
    for f in hide:  # an empty file in its place (e.g. a test suite next to the program)
        argv += ["--ro-bind", "/dev/null", f]
    argv += ["--chdir", cwd, "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if not network:
        argv.append("--unshare-net")
    argv.append("--")
    if uid is not None:
        argv += [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs", "--"]
    return argv


def _bwrap_works(drop: bool) -> bool:
    """bwrap starts, and (as root) drops to a throw-away uid inside both views."""
    if not shutil.which("bwrap") or (drop and not os.path.exists(SETPRIV)):
        return False
    d = tempfile.mkdtemp(prefix="sse-bwrap-probe-")
    os.chmod(d, 0o777)
    uid = UID_BASE + UID_SLOTS if drop else None
    try:
        for view in (None, [("/usr/bin", "/usr/bin")]) if drop else (None,):
            r = subprocess.run([*_bwrap_argv(d, [], False, view=view, uid=uid), "/bin/sh", "-c", "touch ok"],
                               timeout=20, capture_output=True, cwd=d)
            if r.returncode != 0 or not os.path.exists(os.path.join(d, "ok")):
                return False
            if drop and os.stat(os.path.join(d, "ok")).st_uid != uid:
                return False
            os.unlink(os.path.join(d, "ok"))
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)


def isolation_mode() -> str:
    """The isolation this machine allows, detected once per process (part of verdict keys)."""
    global _mode
    with _mode_lock:
        if _mode is None:
            forced = os.environ.get("SSE_SANDBOX")
            if forced in MODES:
                _mode = forced
            elif os.geteuid() == 0 and _bwrap_works(drop=True):
                _mode = "bwrap+uid"
            elif os.geteuid() == 0 and _can_unshare_net_in_child():
                _mode = "uid+netns"
            elif os.geteuid() != 0 and _bwrap_works(drop=False):
                _mode = "bwrap"
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


# One fixed place per machine (not under $TMPDIR): every evaluation, whatever its environment,
# sees the same locks, so no two runs share a uid (and no clean-up kills another's process).
LOCK_DIRS = (Path("/run/sse/uid-locks"), Path("/var/lock/sse/uid-locks"))


def _lock_dir() -> Path:
    for d in LOCK_DIRS:
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            return d
        except OSError:
            continue
    raise OSError(f"cannot create a uid lock folder ({' or '.join(map(str, LOCK_DIRS))})")


CLAIMED_UIDS: set[int] = set()  # every uid this process has run a sandbox as (for leak checks)


def _claim_uid() -> tuple[int, int]:
    """A uid no other sandbox (in any process) is using: (uid, fd of the held lock)."""
    lock_dir = _lock_dir()
    for _ in range(UID_SLOTS):
        uid = UID_BASE + next(_uid_counter) % UID_SLOTS
        fd = os.open(lock_dir / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _uid_has_processes(uid):  # a leftover from a killed harness: clean it first
            _kill_uid(uid)
        CLAIMED_UIDS.add(uid)
        return uid, fd
    raise OSError("no free sandbox uid")


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
    return bool(sandbox_processes(uid, uid + 1))


def sandbox_processes(lo: int = UID_BASE, hi: int = UID_BASE + UID_SLOTS + 1,
                      only: set[int] | None = None) -> list[int]:
    """Live (not zombie) processes whose uid is in [lo, hi) (and in `only` when given):
    what a sandbox could have left behind."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            if not lo <= uid < hi or (only is not None and uid not in only):
                continue
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            out.append(int(pid))
    return out


def run_sandboxed(
    argv: list[str],
    cwd: str | None = None,
    stdin: bytes | None = None,
    limits: SandboxLimits | None = None,
    env: dict[str, str] | None = None,
    ro_binds: Sequence[str] = (),
    *,
    view: Sequence[tuple[str, str]] | None = None,
    hide: Sequence[str] = (),
) -> SandboxResult:
    """Run argv under the sandbox; never raises for the child's behaviour (see SandboxResult).

    In the bwrap modes only `cwd` (read-write), `ro_binds` and the folder of argv[0] are
    visible among the host's temporary folders; everything else is the read-only host.
    With `view` ((host path, sandbox path) pairs), the bwrap modes show nothing of the host but
    the system libraries, those read-only binds, `ro_binds` and `cwd`: argv[0] must then be a
    sandbox path. Other modes cannot hide the host and ignore `view` (argv[0] must exist there).
    `hide`: files (absolute paths) that read as empty inside, in the bwrap modes."""
    limits = limits or SandboxLimits()
    mode = isolation_mode()
    own_tmp = None
    if cwd is None:
        own_tmp = tempfile.mkdtemp(prefix="sse-sbx-")
        cwd = own_tmp
    uid: int | None = None
    lock_fd: int | None = None
    if mode in UID_MODES and limits.drop_privileges:
        try:
            uid, lock_fd = _claim_uid()
        except OSError as e:
            return SandboxResult(None, b"", b"", 0.0, isolation=mode, error=f"sandbox: {e}")
        os.chmod(cwd, 0o777)
    full_env = scrubbed_env(cwd, env)
    cpu = int(limits.cpu_s if limits.cpu_s is not None else limits.wall_s + 1) + 1
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.fsize_mb * 1024 * 1024

    bwrap_uid = uid if mode == "bwrap+uid" else None  # bwrap drops inside (setpriv), not here

    def preexec() -> None:
        os.setsid()
        if mode == "uid+netns" and not limits.network:
            _unshare_net()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:
            # + a few for bwrap's own processes
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc + 4, limits.nproc + 4))
            if bwrap_uid is None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

    cmd = list(argv)
    if mode in BWRAP_MODES:
        ro = [str(Path(argv[0]).parent)] if os.path.isabs(argv[0]) and view is None else []
        hidden = [f for f in hide if os.path.isfile(f)]
        cmd = [*_bwrap_argv(cwd, [*ro, *ro_binds], limits.network, view=view, uid=bwrap_uid, hide=hidden), *cmd]
    elif mode == "netns" and not limits.network:
        cmd = ["unshare", "-rn", "--", *cmd]
    res = run_process(cmd, cwd=cwd, env=full_env, stdin=stdin, timeout_s=limits.wall_s, idle_s=limits.idle_s,
                      max_output_bytes=limits.max_output_bytes, new_session=False, preexec_fn=preexec,
                      grace_s=limits.wall_s)  # pipes held open past the child's exit run into the wall clock
    if res.spawn_error is not None:
        if own_tmp:
            shutil.rmtree(own_tmp, ignore_errors=True)
        if lock_fd is not None:
            os.close(lock_fd)
        return SandboxResult(None, b"", b"", 0.0, isolation=mode,
                             error=f"could not start {argv[0]}: {res.spawn_error}")
    if uid is not None and (bwrap_uid is None or _uid_has_processes(uid)):
        # (bwrap's pid namespace dies with its init: a helper is only needed if something is left)
        _kill_uid(uid)
    if lock_fd is not None:
        os.close(lock_fd)
    rc = res.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if own_tmp:
        shutil.rmtree(own_tmp, ignore_errors=True)
    return SandboxResult(rc, res.stdout, res.stderr, res.wall_s, timed_out=res.timed_out,
                         output_capped=res.output_capped, signal=sig, isolation=mode)
