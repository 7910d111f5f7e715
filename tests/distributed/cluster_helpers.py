"""Helpers: a real loopback Dask cluster (the `dask scheduler` / `dask worker` CLIs) and a tiny task project."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import fake_kinds  # noqa: F401 - registers the fake kind in the test (client) process

from sse.run.shards import read_entries

HERE = Path(__file__).parent
DASK = str(Path(sys.executable).parent / "dask")

EXAMPLES = [
    ("add", "def add(a: int, b: int) -> int:\n    return a + b\n", ["1, 2", "-5, 5", "0, 0"],
     "pub fn add(a: i64, b: i64) -> i64 { a + b }"),
    ("shout", "def shout(s: str) -> str:\n    return s.upper() + '!'\n", ["'hi'", "''", "'Ab'"],
     "pub fn shout(s: &str) -> String { format!(\"{}!\", s.to_uppercase()) }"),
    ("evens", "def evens(xs: list[int]) -> list[int]:\n    return [x for x in xs if x % 2 == 0]\n",
     ["[1, 2, 3, 4]", "[]", "[7]"],
     "pub fn evens(xs: Vec<i64>) -> Vec<i64> { xs.into_iter().filter(|x| x % 2 == 0).collect() }"),
    ("square", "def square(x: int) -> int:\n    return x * x\n", ["3", "-4", "0"],
     "pub fn square(x: i64) -> i64 { x * x }"),
    ("longest", "def longest(xs: list[str]) -> int:\n    return max((len(x) for x in xs), default=0)\n",
     ["['a', 'abc']", "[]", "['xy']"],
     "pub fn longest(xs: Vec<String>) -> i64 { xs.iter().map(|x| x.len() as i64).max().unwrap_or(0) }"),
    # a wrong reference: its tests fail, so the comparison covers test_failure verdicts too
    ("halve", "def halve(x: int) -> int:\n    return x // 2\n", ["4", "7", "-3"],
     "pub fn halve(x: i64) -> i64 { x / 2 }"),
]


@dataclass
class Cluster:
    address: str
    root: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, env: dict[str, str] | None = None, wait: bool = True) -> subprocess.Popen[bytes]:
        """`dask worker` on loopback, in its own process group (so a test can kill nanny + worker)."""
        n = len(self.workers)
        before = self.n_workers() if wait else 0
        log = open(self.root / f"worker{n}.log", "wb")  # noqa: SIM115 - lives as long as the process
        p = subprocess.Popen(
            [DASK, "worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--local-directory", str(self.root / f"w{n}"), "--preload", str(HERE / "fake_kinds.py")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})})
        self.workers.append(p)
        self.procs.append(p)
        if wait:
            self.wait_workers(before + 1)
        return p

    def n_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as c:
            return len(c.nthreads())

    def wait_workers(self, n: int, timeout: float = 60.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as c:
            c.wait_for_workers(n, timeout=timeout)

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole process group of one CLI (a machine that dies, not a clean shutdown)."""
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


def start_cluster(root: Path, n_workers: int = 2) -> Cluster:
    root.mkdir(parents=True, exist_ok=True)
    sched_file = root / "scheduler.json"
    log = open(root / "scheduler.log", "wb")  # noqa: SIM115
    p = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                          "--scheduler-file", str(sched_file)],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (sched_file.exists() and sched_file.stat().st_size):
        if p.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "scheduler.log").read_text())
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written in one go, but be safe about a partial read
    cluster = Cluster(address=json.loads(sched_file.read_text())["address"], root=root, procs=[p])
    try:
        for _ in range(n_workers):
            cluster.add_worker(wait=False)
        if n_workers:
            cluster.wait_workers(n_workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def write_project(root: Path, systems_yaml: str, task_systems: str, runs: int = 2) -> Path:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": i, "entry_point": i, "python": py, "tests": [{"args": a} for a in args], "rust": rs})
             for i, py, args, rs in EXAMPLES]
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    (root / "tasks" / "models.yaml").write_text(systems_yaml)
    (root / "tasks" / "t.yaml").write_text(textwrap.dedent(f"""\
        task: {{id: tiny, corpus: ../corpus.jsonl}}
        evaluation: {{runs: {runs}, systems: [{task_systems}], machine_price_per_hour: 0.1}}
        prompts:
          system: "Translate."
          user_template: "{{python_code}}\\n{{rust_signature}}"
        ground_truth: {{type: compiler}}
        analysis: {{bootstrap_resamples: 200}}
        """))
    return root


def build_results(project: Path, systems: list[str], runs: int) -> dict[tuple[str, int, str], dict[str, object]]:
    """What must not depend on where work ran: per (system, run, example) the completion text and
    the verdict's status, key, tests and error codes."""
    out: dict[tuple[str, int, str], dict[str, object]] = {}
    for s in systems:
        for r in range(runs):
            _, gen = read_entries(project / "cache/build/tiny" / s / f"generate-r{r}.json")
            texts = {g["example_id"]: g["completion"]["text"] for g in gen}
            _, ver = read_entries(project / "cache/build/tiny" / s / f"verify-r{r}.json")
            for e in ver:
                v = e["verdict"] or {}
                key = (s, r, e["example_id"])
                assert key not in out, f"sample counted twice: {key}"
                out[key] = {"text": texts[e["example_id"]], "status": v.get("status"), "key": e["key"],
                            "tests_passed": v.get("tests_passed"), "tests_total": v.get("tests_total"),
                            "error_codes": v.get("error_codes"),
                            "tests": [(t["name"], t["status"]) for t in v.get("tests", [])]}
    return out


def verdict_workers(project: Path, systems: list[str], runs: int) -> set[str]:
    found = set()
    for s in systems:
        for r in range(runs):
            _, ver = read_entries(project / "cache/build/tiny" / s / f"verify-r{r}.json")
            found |= {e["verdict"]["meta"]["worker"] for e in ver
                      if e["verdict"] and "worker" in e["verdict"].get("meta", {})}
    return found
