"""Issue 19 items 8-9: corpus code runs in the sandbox, and its results never share its stdout."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sse.core.errors import CorpusError
from sse.core.sandbox import UID_MODES, isolation_mode
from sse.core.store import Store
from sse.task.corpus import load_corpus
from sse.task.corpus.humaneval import run_worker


def _jsonl(path: Path, examples: list[tuple[str, str]]) -> Path:
    """examples: (id, body of `def <id>(a: int) -> int:`), each with three calls."""
    rows = [{"id": i, "entry_point": i, "python": f"def {i}(a: int) -> int:\n" + "".join(
        f"    {ln}\n" for ln in body.splitlines()), "tests": [{"args": "1"}, {"args": "2"}, {"args": "3"}]}
        for i, body in examples]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _error(path: Path, **kw: Any) -> str:
    with pytest.raises(CorpusError) as ei:
        load_corpus(str(path), **kw)
    msg = ei.value.one_line()
    assert "\n" not in msg
    return msg


OK = ("ok", "return a + 1")


def test_corpus_code_cannot_write_the_host_connect_or_read_private_files(tmp_path: Path) -> None:
    target = tmp_path / "written-by-corpus"
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    secret.chmod(0o600)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        t_end = time.monotonic() + 20
        while time.monotonic() < t_end:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    body = f"""import socket
r = 0
try:
    open({str(target)!r}, "w").write("x")
    r += 1
except OSError:
    pass
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    r += 10
except OSError:
    pass
try:
    r += 100 * (open({str(secret)!r}).read() == "s3cret")
except OSError:
    pass
return r"""
    c = load_corpus(str(_jsonl(tmp_path / "c.jsonl", [("snoop", body)])))
    th.join()
    server.close()
    value = c.examples[0].tests[0].expected
    assert not target.exists() and not accepted
    if isolation_mode() in UID_MODES:  # a throw-away uid cannot read the caller's 0600 files
        assert value == 0
    else:
        assert value in (0, 100)


def test_a_daemon_started_by_corpus_code_does_not_survive_the_load(tmp_path: Path) -> None:
    marker = f"{os.getpid()}.{time.monotonic_ns() % 10**6}"
    body = f"""import subprocess
subprocess.Popen(["sleep", "{marker}"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
return a"""
    load_corpus(str(_jsonl(tmp_path / "c.jsonl", [("daemon", body)])))
    time.sleep(0.5)
    left = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd:
            left.append(pid)
    assert not left


@pytest.mark.parametrize(("body", "words"), [
    ("import os\nos.fork()\nreturn a", "forked a process"),
    ("import os\nos._exit(0)", "ended the interpreter"),
    ("import ctypes\nctypes.string_at(0)\nreturn a", "killed the interpreter"),
])
def test_fork_exit_and_crash_are_one_line_naming_the_example(tmp_path: Path, body: str, words: str) -> None:
    p = _jsonl(tmp_path / "c.jsonl", [OK, ("bad", body), ("ok2", "return a")])
    msg = _error(p)
    assert f"{p}:2" in msg and words in msg and "tests[0]" in msg


def test_writing_to_fd_1_does_not_disturb_the_results(tmp_path: Path) -> None:
    body = "import os, sys\nos.write(1, b'{\"not\": json')\nprint('noise')\nsys.stdout.flush()\nreturn a * 2"
    c = load_corpus(str(_jsonl(tmp_path / "c.jsonl", [OK, ("noisy", body)])))
    assert [t.expected for t in c.examples[1].tests] == [2, 4, 6]


def test_a_hang_in_c_code_names_the_example_and_the_call_and_keeps_the_rest(tmp_path: Path) -> None:
    spin = "import itertools\nif a == 2:\n    return sum(itertools.repeat(1, 10**15))\nreturn a"
    p = _jsonl(tmp_path / "c.jsonl", [OK, ("spin", spin), ("ok2", "return a")])
    msg = _error(p, timeout=1)
    assert f"{p}:2" in msg and "tests[1]" in msg and "f(2)" in msg and "hung" in msg
    with Store() as st:  # the two good examples were confirmed and kept
        assert len(st.keys("example_check")) == 2


def test_a_repeat_load_runs_no_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _jsonl(tmp_path / "c.jsonl", [OK])
    first = load_corpus(str(p))
    import sse.task.corpus.loader as loader_mod

    monkeypatch.setattr(loader_mod, "run_items", lambda *a, **k: pytest.fail("ran Python"))
    assert load_corpus(str(p)) == first


def test_humaneval_worker_survives_an_item_that_kills_it() -> None:
    items = [{"source": "def f(x):\n    return x + 1\n", "entry_point": "f", "args": ["1", "2"]},
             {"source": "import os\ndef f(x):\n    os._exit(3)\n", "entry_point": "f", "args": ["1"]},
             {"source": "import os\ndef f(x):\n    os.write(1, b'junk')\n    return x\n", "entry_point": "f",
              "args": ["5"]}]
    out = run_worker("run", items, timeout=10)
    assert out[0] == {"ok": True, "results": [{"result": "2"}, {"result": "3"}]}
    assert out[1]["ok"] is False and "exit status 3" in out[1]["error"]
    assert out[2] == {"ok": True, "results": [{"result": "5"}]}
