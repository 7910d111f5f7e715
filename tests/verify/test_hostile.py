"""Hostile candidates are contained and classified, and their neighbours in the batch keep their verdicts.

Everything runs as one batch (the path the pipeline uses). After it: no sandbox process is left,
the fake $HOME is intact, nothing large was written to the host's temporary folder, the local
listener got no connection and no secret from our environment reached a verdict.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
from verify_helpers import make_example, needs_rustc

from sse.core.records import TestCase
from sse.core.sandbox import CLAIMED_UIDS, SandboxLimits, isolation_mode, run_sandboxed, sandbox_processes
from sse.scorers import VerifyRequest, verify_batch
from sse.task.config import GroundTruth, Limits

SECRET = "hunter2-do-not-leak"

GOOD = "pub fn f(x: i64) -> i64 { x }"


def hostile_programs(port: int, home: str) -> dict[str, tuple[str, set[str]]]:
    """name -> (Rust of f(x) -> i64, acceptable verdicts). `pass` means: the attack failed silently."""
    return {
        "infinite_loop": ("pub fn f(x: i64) -> i64 { let mut i = x; loop { i = i.wrapping_add(1); "
                          "if i == x - 1 { std::hint::black_box(i); } } }", {"timeout"}),
        "fork_bomb": ('extern "C" { fn fork() -> i32; }\n'
                      "pub fn f(x: i64) -> i64 { loop { unsafe { fork(); } } }", {"compile_error"}),  # forbid(unsafe_code)
        "alloc_50gb": ("pub fn f(x: i64) -> i64 { let v = vec![1u8; 50usize << 30]; "
                       "v[(x as usize) * 4096] as i64 + x - 1 }", {"crash"}),
        "file_10gb": ("use std::io::Write;\npub fn f(x: i64) -> i64 { let mut w = std::fs::File::create("
                      '"big.bin").unwrap(); let buf = vec![7u8; 1 << 20]; '
                      "for _ in 0..10240 { w.write_all(&buf).unwrap(); } x }", {"crash", "test_failure"}),
        "print_forever": ("use std::io::Write;\npub fn f(x: i64) -> i64 { let mut o = std::io::stdout(); "
                          'loop { let _ = o.write_all(b"spam spam spam spam\\n"); } }', {"crash", "timeout"}),
        "rm_home": ("pub fn f(x: i64) -> i64 { "
                    'let h = std::env::var("HOME").unwrap_or_default(); let _ = std::fs::remove_dir_all(&h); '
                    f'let _ = std::fs::remove_file("{home}/canary.txt"); let _ = std::fs::remove_dir_all("{home}"); '
                    "x }", {"pass"}),  # judged by the canary, checked after the batch
        "network": (f"pub fn f(x: i64) -> i64 {{ match std::net::TcpStream::connect(\"127.0.0.1:{port}\") "
                    "{ Ok(_) => -1, Err(_) => x } }", {"pass"}),
        "abort": ("pub fn f(x: i64) -> i64 { if x > 0 { std::process::abort() } x }", {"crash"}),
        "stack_overflow": ("pub fn f(x: i64) -> i64 { fn r(n: i64) -> i64 { let a = [n; 64]; "
                           "r(n + 1) + std::hint::black_box(a)[3] } r(x) }", {"crash"}),
        "env_secrets": ("pub fn f(x: i64) -> i64 { for (k, v) in std::env::vars() { "
                        f'if v.contains("{SECRET}") || k.contains("SECRET") {{ println!("{{}}={{}}", k, v); '
                        "return -1; } } x }", {"pass"}),
    }


def _sandbox_processes() -> list[int]:
    """Live processes of the uids our sandboxes ran as (other sessions may be verifying too),
    allowing a moment for SIGKILLed ones to be reaped."""
    left: list[int] = []
    for _ in range(20):
        left = sandbox_processes(only=set(CLAIMED_UIDS))
        if not left:
            return []
        time.sleep(0.1)
    return left


def _big_files(root: str, min_bytes: int) -> list[str]:
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                if os.path.getsize(os.path.join(dirpath, f)) >= min_bytes:
                    found.append(os.path.join(dirpath, f))
            except OSError:
                pass
    return found


@needs_rustc
def test_hostile_batch_contained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "canary.txt").write_text("still here")
    home.chmod(0o777)  # even writable by anyone: the sandbox must still not reach it
    (home / "canary.txt").chmod(0o666)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("SSE_TEST_SECRET", SECRET)

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    before_big = set(_big_files(tempfile.gettempdir(), 100 << 20))

    ex = make_example("def f(x: int) -> int:\n    return x", "f", [TestCase((1,), 1), TestCase((2,), 2), TestCase((3,), 3)])
    gt = GroundTruth(limits=Limits(test_timeout_s=3.0, memory_mb=512, compile_timeout_s=120))
    progs = hostile_programs(port, str(home))
    names = ["good_before", *progs, "good_after"]
    sources = [GOOD, *(p[0] for p in progs.values()), GOOD + "\n// another"]
    verdicts = verify_batch([VerifyRequest(ex, src, gt) for src in sources])
    stop.set()
    t.join(2)
    server.close()

    got = dict(zip(names, verdicts, strict=True))
    assert got["good_before"].status == "pass" and got["good_after"].status == "pass", (got["good_before"], got["good_after"])
    for name, (_, ok) in progs.items():
        v = got[name]
        assert v.status in ok, (name, v.status, v.diagnostics)
        assert SECRET not in v.diagnostics and all(SECRET not in o.message for o in v.tests)
    assert (home / "canary.txt").read_text() == "still here"
    assert not connections
    assert _sandbox_processes() == []
    assert set(_big_files(tempfile.gettempdir(), 100 << 20)) <= before_big


@needs_rustc
def test_fork_bomb_contained_when_the_task_allows_unsafe() -> None:
    """With unsafe allowed the fork bomb compiles and runs (alone): the process limit holds it."""
    ex = make_example("def f(x: int) -> int:\n    return x", "f", [TestCase((1,), 1), TestCase((2,), 2), TestCase((3,), 3)])
    gt = GroundTruth(limits=Limits(test_timeout_s=3.0, memory_mb=512), allow_unsafe=True)
    bomb = hostile_programs(1, "/nonexistent")["fork_bomb"][0]
    good, v = verify_batch([VerifyRequest(ex, GOOD, gt), VerifyRequest(ex, bomb, gt)])
    assert good.status == "pass" and v.status in ("timeout", "crash"), (good, v)
    assert _sandbox_processes() == []


def test_sandbox_runner_limits_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner alone (no rustc): env is scrubbed, cwd is fresh, output is capped, time is bounded."""
    monkeypatch.setenv("SSE_TEST_SECRET", SECRET)
    r = run_sandboxed(["/bin/sh", "-c", "env; pwd; ls -a"], limits=SandboxLimits(wall_s=5))
    text = r.stdout.decode()
    assert r.returncode == 0 and SECRET not in text and "sse-sbx-" in text
    r = run_sandboxed(["/bin/sh", "-c", "yes"], limits=SandboxLimits(wall_s=10, max_output_bytes=100_000))
    assert r.output_capped and len(r.stdout) <= 100_000
    r = run_sandboxed(["/bin/sh", "-c", "sleep 30"], limits=SandboxLimits(wall_s=1))
    assert r.timed_out and r.wall_s < 10
    r = run_sandboxed(["/bin/sh", "-c", "(setsid sleep 60 &) ; sleep 30"], limits=SandboxLimits(wall_s=1))
    assert r.timed_out
    if isolation_mode() in ("bwrap+uid", "uid+netns"):
        assert _sandbox_processes() == []  # even the setsid'd grandchild is gone


def test_isolation_mode_is_known() -> None:
    assert isolation_mode() in ("bwrap+uid", "uid+netns", "bwrap", "netns", "rlimits")
