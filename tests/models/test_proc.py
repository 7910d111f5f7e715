"""sse.core.proc.run: the one subprocess runner (limits, group kill, accounting)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from sse.core import proc

PY = sys.executable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_exit_status_streams_and_cpu_of_this_child_only() -> None:
    r = proc.run([PY, "-c", "import sys; sum(range(3_000_000)); print('out'); print('err', file=sys.stderr); "
                            "sys.exit(3)"], timeout_s=60)
    assert (r.returncode, r.out_text, r.err_text) == (3, "out\n", "err\n")
    assert r.cpu_s is not None and 0 < r.cpu_s <= r.wall_s + 0.5 and r.max_rss_kb and r.max_rss_kb > 1000
    assert r.first_stdout_s is not None and not r.timed_out and not r.ok


def test_stdin_is_fed_and_none_means_devnull() -> None:
    r = proc.run([PY, "-c", "import sys; print(len(sys.stdin.read()))"], stdin="x" * 1_000_000, timeout_s=60)
    assert r.out_text == "1000000\n" and r.ok
    assert proc.run([PY, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout_s=60).out_text == "''\n"


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import os, subprocess, time; p = subprocess.Popen(['sleep', '60']); " \
           f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    t0 = time.monotonic()
    r = proc.run([PY, "-c", code], timeout_s=2)
    assert r.timed_out and not r.idle and r.signal == 9 and time.monotonic() - t0 < 10
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


def test_grandchild_holding_the_pipes_does_not_hold_the_call(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import subprocess; p = subprocess.Popen(['sleep', '60']); open({str(pidfile)!r}, 'w').write(str(p.pid))"
    t0 = time.monotonic()
    r = proc.run([PY, "-c", code], timeout_s=30, grace_s=0.5)
    assert r.returncode == 0 and not r.timed_out and time.monotonic() - t0 < 10
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


def test_output_cap_and_idle_limit() -> None:
    r = proc.run(["yes"], timeout_s=30, max_output_bytes=10_000)
    assert r.output_capped and len(r.stdout) <= 10_000 and r.signal == 9
    r = proc.run([PY, "-c", "import time; print('a', flush=True); time.sleep(30)"], timeout_s=30, idle_s=1)
    assert r.timed_out and r.idle and r.out_text == "a\n"


def test_unstartable_program_is_a_spawn_error() -> None:
    r = proc.run(["/nonexistent/tool"], timeout_s=5)
    assert r.returncode is None and r.spawn_error and "No such file" in r.spawn_error


def test_closed_pipes_but_still_running_meets_the_deadline() -> None:
    code = "import os, time; os.close(1); os.close(2); time.sleep(60)"
    t0 = time.monotonic()
    r = proc.run([PY, "-c", code], timeout_s=2)
    assert r.timed_out and time.monotonic() - t0 < 10
