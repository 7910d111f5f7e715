"""Against a real loopback cluster started with the `dask scheduler` / `dask worker` CLIs."""

from __future__ import annotations

import os
import signal
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest
from cluster_helpers import EXAMPLES, Cluster, build_results, start_cluster, verdict_workers, write_project

from sse.exec import close_executor, get_executor
from sse.exec.dask import ClusterError, DaskExecutor
from sse.graph import run_doit
from sse.run.context import Plan
from sse.scorers import VerifyRequest, verdict_key
from sse.systems.base import adapter_loads
from sse.task.config import GroundTruth
from sse.task.corpus import load_corpus
from sse.task.spec import Prompt

PLAN = Plan(task_glob="tasks/t.yaml", output="reports")
SYSTEMS_YAML = textwrap.dedent("""\
    systems:
      reference: {kind: reference}
      good: {kind: dist-fake, options: {mode: good}}
      broken: {kind: dist-fake, options: {mode: broken}}
      nocode: {kind: dist-fake, options: {mode: nocode}}
    """)
SYSTEMS = ["reference", "good", "broken", "nocode"]


def _evaluate(project: Path, monkeypatch: pytest.MonkeyPatch, scheduler: str | None) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("SSE_CACHE_DIR", str(project / "cache"))
    if scheduler:
        monkeypatch.setenv("SSE_SCHEDULER", scheduler)
    else:
        monkeypatch.delenv("SSE_SCHEDULER", raising=False)
    try:
        assert run_doit(["verify"], PLAN) == 0
    finally:
        close_executor()


def test_evaluation_on_cluster_equals_local(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_DASK_MIN_BATCH", "1")  # tiny batches: make both workers verify
    local = write_project(tmp_path / "local", SYSTEMS_YAML, ", ".join(SYSTEMS))
    remote = write_project(tmp_path / "remote", SYSTEMS_YAML, ", ".join(SYSTEMS))
    _evaluate(local, monkeypatch, None)
    _evaluate(remote, monkeypatch, cluster.address)

    want, got = build_results(local, SYSTEMS, 2), build_results(remote, SYSTEMS, 2)
    assert len(got) == len(SYSTEMS) * 2 * len(EXAMPLES)
    assert got == want
    assert {r["status"] for r in got.values()} == {"pass", "test_failure", "compile_error", "no_code"}
    assert verdict_workers(local, SYSTEMS, 2) == set()  # local verdicts carry no worker
    assert len(verdict_workers(remote, SYSTEMS, 2)) == 2  # both workers verified, and said so

    from distributed import Client

    with Client(cluster.address, timeout=10, set_as_default=False) as c:
        loads = c.run(adapter_loads)
    assert len(loads) == 2
    # generate ran in several chunks per system (6 examples, chunks of 4), yet each worker built
    # each adapter at most once
    assert all(n == 1 for per_worker in loads.values() for n in per_worker.values())
    assert sum(per_worker.get("good", 0) for per_worker in loads.values()) >= 1


def test_worker_killed_mid_run_still_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    systems = textwrap.dedent(f"""\
        systems:
          slow: {{kind: dist-fake, options: {{mode: good, delay_s: 0.5, marker_dir: "{markers}"}}}}
        """)
    local = write_project(tmp_path / "local", systems.replace(str(markers), str(tmp_path)), "slow", runs=1)
    remote = write_project(tmp_path / "remote", systems, "slow", runs=1)
    _evaluate(local, monkeypatch, None)

    c = start_cluster(tmp_path / "cluster")
    try:
        from distributed import Client

        with Client(c.address, timeout=10, set_as_default=False) as client:
            pids = client.run(os.getpid)
        group_of = {pid: next(p for p in c.workers if os.getpgid(pid) == p.pid) for pid in pids.values()}
        victim_pid = sorted(pids.values())[0]
        killed = threading.Event()

        def killer() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(f.name.startswith(f"{victim_pid}-") for f in markers.iterdir()):
                    c.kill(group_of[victim_pid])  # mid-batch: its prompt sleeps 0.5 s, its batch has 2
                    killed.set()
                    return
                time.sleep(0.02)

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        _evaluate(remote, monkeypatch, c.address)
        t.join(timeout=5)
        assert killed.is_set()
    finally:
        c.stop()

    got = build_results(remote, ["slow"], 1)
    assert got == build_results(local, ["slow"], 1)  # nothing lost, nothing counted twice
    started = [f.name.split("-", 1) for f in markers.iterdir()]
    by_victim = {rest for pid, rest in started if int(pid) == victim_pid}
    by_others = {rest for pid, rest in started if int(pid) != victim_pid}
    assert by_victim and by_victim <= by_others  # what the dead worker had started was redone elsewhere
    assert len(by_others) == len(EXAMPLES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    addr = f"tcp://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("SSE_SCHEDULER_TIMEOUT", "1")
    monkeypatch.setenv("SSE_SCHEDULER", addr)
    close_executor()
    with pytest.raises(ClusterError) as e:
        get_executor()
    line = e.value.one_line()
    assert "\n" not in line and addr in line and "SSE_SCHEDULER" in line and "fix:" in line

    project = write_project(tmp_path / "p", SYSTEMS_YAML, "good")
    monkeypatch.chdir(project)
    monkeypatch.setenv("SSE_CACHE_DIR", str(project / "cache"))
    capfd.readouterr()
    assert run_doit(["verify"], PLAN) != 0
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("sse: error:")]
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]
    assert not list((project / "cache" / "build").rglob("generate-*.json"))  # no work was started


def _requests(project: Path) -> list[VerifyRequest]:
    corpus = load_corpus(str(project / "corpus.jsonl"))
    return [VerifyRequest(example=e, rust=e.rust_reference, ground_truth=GroundTruth()) for e in corpus.examples]


def test_worker_with_another_toolchain_gets_no_verification(cluster: Cluster, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "rustc"
    fake.write_text("#!/bin/sh\necho 'rustc 0.0.1-other (fake 2020-01-01)'\necho 'release: 0.0.1'\n")
    fake.chmod(0o755)
    odd = cluster.add_worker(env={"SSE_RUSTC": str(fake)})
    try:
        monkeypatch.setenv("SSE_SCHEDULER", cluster.address)
        monkeypatch.setenv("SSE_DASK_MIN_BATCH", "1")
        close_executor()
        ex = get_executor()
        assert isinstance(ex, DaskExecutor) and ex.slots == 3
        ok, bad = ex.compatible_workers()
        assert len(ok) == 2 and len(bad) == 1 and "0.0.1-other" in next(iter(bad.values()))
        assert "gets no verification work" in capfd.readouterr().err
        reqs = _requests(write_project(tmp_path / "p", SYSTEMS_YAML, "good"))
        verdicts = ex.verify(reqs)
        assert [v.key for v in verdicts] == [verdict_key(r) for r in reqs]
        assert {v.meta["worker"] for v in verdicts} <= set(ok)
        assert {v.meta["worker_toolchain"] for v in verdicts} == {ok_tc(ex)}
        assert [v.status for v in verdicts].count("pass") == len(reqs) - 1  # halve's reference is wrong
    finally:
        close_executor()
        cluster.kill(odd)


def ok_tc(ex: DaskExecutor) -> str:
    return ex.client_identity()["toolchain"].splitlines()[0]


def test_ctrl_c_cancels_remote_work(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = write_project(tmp_path / "p", textwrap.dedent(f"""\
        systems:
          slow: {{kind: dist-fake, options: {{mode: good, delay_s: 1.5, marker_dir: "{markers}"}}}}
        """), "slow")
    monkeypatch.chdir(project)
    monkeypatch.setenv("SSE_SCHEDULER", cluster.address)
    monkeypatch.setattr(DaskExecutor, "slots", property(lambda self: 4))  # 4 one-prompt tasks on 2 threads
    close_executor()
    ex = get_executor()
    corpus = load_corpus(str(project / "corpus.jsonl"))
    from sse.task.spec import Decoding

    prompts = [Prompt(system="s", user="u", example=e, run=0, decoding=Decoding()) for e in corpus.examples[:4]]
    timer = threading.Timer(0.7, os.kill, (os.getpid(), signal.SIGINT))  # what Ctrl-C sends
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:  # its traceback keeps the futures referenced
            from sse.task.config import load_task, systems_for

            task = load_task(project / "tasks" / "t.yaml")
            ex.generate(systems_for(task, ["slow"])[0], task, prompts)
    finally:
        timer.cancel()
    deadline = time.monotonic() + 15
    remaining = -1
    while time.monotonic() < deadline:
        remaining = ex.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        if remaining == 0:
            break
        time.sleep(0.1)
    assert remaining == 0  # the scheduler forgot every task of the interrupted batch
    time.sleep(2.0)  # the two running prompts finish; the two queued ones must never start
    assert len(list(markers.iterdir())) == 2
    assert interrupted.value is not None
    close_executor()


@pytest.mark.slow
def test_worker_killed_mid_verification_still_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Heavier form: the worker dies while its rustc sandbox is compiling; the batch is redone elsewhere."""
    monkeypatch.setenv("SSE_DASK_MIN_BATCH", "1")
    systems = ["good", "broken"]
    local = write_project(tmp_path / "local", SYSTEMS_YAML, ", ".join(systems), runs=1)
    remote = write_project(tmp_path / "remote", SYSTEMS_YAML, ", ".join(systems), runs=1)
    _evaluate(local, monkeypatch, None)
    c = start_cluster(tmp_path / "cluster")
    try:
        from distributed import Client

        with Client(c.address, timeout=10, set_as_default=False) as client:
            pids = client.run(os.getpid)
        victim_addr = sorted(pids)[0]
        victim = next(p for p in c.workers if os.getpgid(pids[victim_addr]) == p.pid)
        killed = threading.Event()

        def busy_verifying(dask_scheduler: object) -> bool:
            ws = dask_scheduler.workers.get(victim_addr)  # type: ignore[attr-defined]
            return bool(ws) and any("remote_verify" in str(ts.key) for ts in ws.processing)

        def killer() -> None:
            with Client(c.address, timeout=10, set_as_default=False) as watcher:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and not killed.is_set():
                    if watcher.run_on_scheduler(busy_verifying):
                        time.sleep(0.1)  # let rustc start in the worker's sandbox
                        c.kill(victim)
                        killed.set()
                        return
                    time.sleep(0.05)

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        _evaluate(remote, monkeypatch, c.address)
        killed.set()
        t.join(timeout=10)
        assert victim.poll() is not None  # it really died
    finally:
        c.stop()
    assert build_results(remote, systems, 1) == build_results(local, systems, 1)
    assert verdict_workers(remote, systems, 1) == set(pids) - {victim_addr}  # its in-flight batch was redone


def test_scheduler_without_workers_is_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = start_cluster(tmp_path / "cluster", n_workers=0)
    try:
        monkeypatch.setenv("SSE_SCHEDULER_TIMEOUT", "1")
        monkeypatch.setenv("SSE_SCHEDULER", c.address)
        close_executor()
        with pytest.raises(ClusterError, match="has no workers") as e:
            get_executor()
        assert "\n" not in e.value.one_line() and "dask worker" in e.value.one_line()
    finally:
        close_executor()
        c.stop()
