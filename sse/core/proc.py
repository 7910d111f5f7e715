"""The one subprocess runner: process-group kill, timeouts, output caps, resource accounting.

Every part of sse that starts a program it does not trust to end on time (a CLI tool, a
transpiler, a test-suite, an untrusted binary under the sandbox) goes through `run()`:

- the child leads its own process group (a new session, or a `preexec_fn` that calls
  setsid), and on timeout, idle timeout or output cap the whole group is SIGKILLed; after
  a normal exit the group is killed too, so no grandchild outlives the call;
- a child that exits while a grandchild still holds its pipes is not waited for past
  `grace_s` (the grandchild is killed with the group);
- stdout and stderr are read concurrently up to `max_output_bytes` together; past the cap
  the run is killed (`output_capped`) rather than buffered without bound;
- wall seconds, and CPU seconds (user + sys) and peak RSS from `wait4` on this very child,
  so concurrent runs never mix their accounting (RUSAGE_CHILDREN would);
- the time of the first byte on stdout, which tells "produced nothing" from "was slow".

Nothing here raises for the child's behaviour: a program that cannot be started is a
`spawn_error`, everything else is in the result.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

DEFAULT_MAX_OUTPUT = 8 << 20


@dataclass
class ProcResult:
    returncode: int | None  # exit status; -N for signal N; None when it could not be started
    stdout: bytes
    stderr: bytes
    wall_s: float
    cpu_s: float | None = None  # user + sys of the child (and the descendants it waited for)
    max_rss_kb: int | None = None
    timed_out: bool = False  # wall clock or idle limit reached (`idle` says which)
    idle: bool = False
    output_capped: bool = False
    spawn_error: str | None = None
    first_stdout_s: float | None = None  # seconds until the first stdout byte; None: nothing arrived

    @property
    def signal(self) -> int | None:
        rc = self.returncode
        return -rc if rc is not None and rc < 0 else None

    @property
    def ok(self) -> bool:
        return self.spawn_error is None and not self.timed_out and not self.output_capped and self.returncode == 0

    @property
    def out_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; gone already or not ours is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError, ValueError):
        pass
    finally:
        try:
            pipe.close()
        except (BrokenPipeError, OSError):
            pass


def run(argv: Sequence[str], *, stdin: bytes | str | None = None, cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None, timeout_s: float, idle_s: float | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT, grace_s: float = 2.0, new_session: bool = True,
        preexec_fn: Callable[[], None] | None = None, merge_stderr: bool = False) -> ProcResult:
    """Run argv to completion or to one of its limits; see the module docstring.

    `stdin` None gives the child /dev/null. `new_session=False` is only for a `preexec_fn`
    that makes the child a group leader itself (os.setsid): the kill is by process group.
    `merge_stderr` sends stderr into stdout (one stream, in order)."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv), cwd=None if cwd is None else str(cwd), env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, start_new_session=new_session,
            preexec_fn=preexec_fn, close_fds=True)
    except (OSError, subprocess.SubprocessError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return ProcResult(None, b"", b"", 0.0, spawn_error=f"{argv[0] if argv else '?'}: {why}")
    if data is not None and proc.stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
    streams = [s for s in (proc.stdout, proc.stderr) if s is not None]
    bufs = {s.fileno(): bytearray() for s in streams}
    out_fd = proc.stdout.fileno() if proc.stdout is not None else -1
    err_fd = proc.stderr.fileno() if proc.stderr is not None else -1
    sel = selectors.DefaultSelector()
    for s in streams:
        os.set_blocking(s.fileno(), False)
        sel.register(s, selectors.EVENT_READ)
    deadline = t0 + timeout_s
    last_output = t0
    status: int | None = None
    rusage: object = None
    reaped_at: float | None = None
    timed_out = idle = capped = False
    first_out: float | None = None
    total = 0

    def reap(block: bool) -> None:
        nonlocal status, rusage, reaped_at
        if status is not None:
            return
        try:
            pid, st, ru = os.wait4(proc.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, st, ru = proc.pid, 0, None
        if pid:
            status, rusage, reaped_at = os.waitstatus_to_exitcode(st), ru, time.monotonic()

    open_fds = len(streams)
    while open_fds:
        now = time.monotonic()
        reap(False)
        if reaped_at is not None and now - reaped_at > grace_s:
            break  # the child is gone; a grandchild holds the pipes: it dies with the group below
        left = deadline - now
        if idle_s is not None:
            left = min(left, last_output + idle_s - now)
        if left <= 0:
            timed_out, idle = True, deadline - now > 0
            break
        for key, _ in sel.select(timeout=min(left, 0.25)):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fileobj)
                open_fds -= 1
                continue
            now = time.monotonic()
            last_output = now
            if key.fd == out_fd and first_out is None:
                first_out = now - t0
            bufs[key.fd] += chunk
            total += len(chunk)
            if total > max_output_bytes:
                capped = True
                open_fds = 0
                break
    sel.close()
    if timed_out or capped:
        kill_group(proc.pid)
    # pipes closed: the child normally exits now; one that closed them and kept running meets the deadline
    while status is None:
        reap(False)
        if status is not None:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            kill_group(proc.pid)
            reap(True)
            break
        time.sleep(0.005)
    kill_group(proc.pid)  # stragglers in the group (after a normal exit too)
    wall = time.monotonic() - t0
    proc.returncode = status if status is not None else -signal.SIGKILL
    for s in streams:
        try:
            s.close()
        except OSError:
            pass
    cpu = rss = None
    if rusage is not None:
        cpu = rusage.ru_utime + rusage.ru_stime  # type: ignore[attr-defined]
        rss = int(rusage.ru_maxrss)  # type: ignore[attr-defined]
    out = bytes(bufs.get(out_fd, b""))[:max_output_bytes]
    err = bytes(bufs.get(err_fd, b""))[:max_output_bytes]
    return ProcResult(returncode=status, stdout=out, stderr=err, wall_s=wall, cpu_s=cpu, max_rss_kb=rss,
                      timed_out=timed_out, idle=idle, output_capped=capped, first_stdout_s=first_out)
