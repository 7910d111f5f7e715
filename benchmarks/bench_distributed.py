"""Verification of N candidates: in one process, on the local process pool, and on a loopback
Dask cluster; plus the per-task overhead of the Dask path (and, with --apr, generation cost).

Candidates: every reference Rust of the bundled function corpus plus mutants of them
(sse.scorers.mutants) until N. Each mode verifies the same list in the pipeline's chunks of
--chunk requests and must return the same verdicts (status, key, tests) in the same order.

  serial   verify_batch in this process, chunk by chunk (the executor before this change)
  local    LocalExecutor: a chunk split over a process pool sized to the machine
  dask     DaskExecutor on `dask scheduler` + W `dask worker --nthreads 1` (127.0.0.1)
  dask-all DaskExecutor given the whole list as one call (what bigger pipeline chunks would give)

Overhead: a no-op task's round trip, no-op task throughput, and one executor.verify() of a
request that needs no rustc (no code) through Dask vs in-process.

Run: .venv/bin/python benchmarks/bench_distributed.py [--n 500] [--chunk 64] [--workers 2]
     [--apr /path/model.apr --gen 8 --max-tokens 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sse.scorers import VerifyRequest, verify_batch
from sse.scorers.mutants import make_mutants
from sse.task.config import GroundTruth
from sse.task.corpus import load_corpus

DASK = str(Path(sys.executable).parent / "dask")


def candidates(n: int) -> list[VerifyRequest]:
    exs = [e for e in load_corpus("bundled:functions").examples if e.rust_reference]
    gt = GroundTruth()
    refs = [VerifyRequest(example=e, rust=e.rust_reference, ground_truth=gt) for e in exs]
    muts = [[VerifyRequest(example=e, rust=m.rust, ground_truth=gt) for m in make_mutants(e.rust_reference, e.entry_point,
                                                                                          per_kind=2)]
            for e in exs]
    out = list(refs)
    depth = 0
    while len(out) < n and any(depth < len(m) for m in muts):
        out.extend(m[depth] for m in muts if depth < len(m))
        depth += 1
    return out[:n]


def chunks(xs: list[Any], size: int) -> list[list[Any]]:
    return [xs[i:i + size] for i in range(0, len(xs), size)]


def timed(fn: Any, reqs: list[VerifyRequest], chunk: int) -> tuple[float, list[Any]]:
    t0 = time.perf_counter()
    out = [v for c in chunks(reqs, chunk) for v in fn(c)]
    return time.perf_counter() - t0, out


def comparable(vs: list[Any]) -> list[tuple[Any, ...]]:
    return [(v.status, v.key, v.tests_passed, v.tests_total, tuple((t.name, t.status) for t in v.tests)) for v in vs]


def differences(base: list[Any], other: list[Any], reqs: list[VerifyRequest]) -> list[str]:
    return [f"#{i} {reqs[i].example.id}: {a.status} {a.tests_passed}/{a.tests_total} vs {b.status} "
            f"{b.tests_passed}/{b.tests_total}" + (" (status or key differs)" if (a.status, a.key) != (b.status, b.key)
                                                   else " (per-test detail only)")
            for i, (a, b, ca, cb) in enumerate(zip(base, other, comparable(base), comparable(other), strict=True))
            if ca != cb]


class Loopback:
    """`dask scheduler` + workers on 127.0.0.1, each CLI in its own process group."""

    def __init__(self, workers: int, root: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        sched = root / "scheduler.json"
        self._spawn([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched)], root / "scheduler.log")
        while not (sched.exists() and sched.stat().st_size):
            time.sleep(0.1)
        time.sleep(0.1)
        self.address = json.loads(sched.read_text())["address"]
        for i in range(workers):
            self._spawn([DASK, "worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                         "--no-dashboard", "--local-directory", str(root / f"w{i}")], root / f"worker{i}.log")
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as c:
            c.wait_for_workers(workers, timeout=120)

    def _spawn(self, argv: list[str], log: Path) -> None:
        self.procs.append(subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                           start_new_session=True))

    def stop(self) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.wait(timeout=20)


def noop(x: int) -> int:
    return x


def overhead(ex: Any, reqs: list[VerifyRequest]) -> dict[str, float]:
    client = ex.client
    client.submit(noop, -1, pure=False).result()
    n = 100
    t0 = time.perf_counter()
    for i in range(n):
        client.submit(noop, i, pure=False).result()
    rtt = (time.perf_counter() - t0) / n
    m = 2000
    t0 = time.perf_counter()
    client.gather(client.map(noop, range(m), pure=False))
    tput = m / (time.perf_counter() - t0)
    none = [dataclasses.replace(reqs[0], rust=None)]
    verify_batch(none)
    ex.verify(none)
    k = 30
    t0 = time.perf_counter()
    for _ in range(k):
        verify_batch(none)
    local_call = (time.perf_counter() - t0) / k
    t0 = time.perf_counter()
    for _ in range(k):
        ex.verify(none)
    dask_call = (time.perf_counter() - t0) / k
    return {"noop_rtt_ms": rtt * 1e3, "noop_tasks_per_s": tput, "verify_call_local_ms": local_call * 1e3,
            "verify_call_dask_ms": dask_call * 1e3}


def generation(apr: str, n: int, max_tokens: int, ex: Any | None) -> dict[str, float]:
    """Native generation of n prompts, in-process; and through Dask when ex is given (first call
    includes the model load on each worker, the second does not)."""
    from sse.run.generate import render_prompt
    from sse.systems.base import build_adapter
    from sse.task.config import load_task
    from sse.task.spec import Decoding, SystemSpec
    from sse.task.translate import rust_signature

    task = load_task(str(Path(__file__).resolve().parent.parent / "tasks" / "python-to-rust.yaml"))
    task = dataclasses.replace(task, decoding=Decoding(max_tokens=max_tokens))
    spec = SystemSpec(name="smol", kind="native", options={"apr": apr, "batch_size": 4})
    exs = [e for e in load_corpus("bundled:functions").examples][:n]

    prompts = [render_prompt(task, e, 0, rust_signature(e)) for e in exs]
    out: dict[str, float] = {}
    adapter = build_adapter(spec, task)
    t0 = time.perf_counter()
    adapter._loaded()
    out["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    comps = adapter.generate(prompts)
    wall = time.perf_counter() - t0
    toks = sum(c.tokens_out or 0 for c in comps)
    out |= {"local_s_per_completion": wall / n, "local_tokens_out_per_s": toks / wall,
            "cpu_s_per_completion": sum(c.cpu_s or 0.0 for c in comps) / n,
            "mean_tokens_out": toks / n, "mean_tokens_in": sum(c.tokens_in or 0 for c in comps) / n}
    if ex is not None:
        from sse.exec import split
        from sse.exec.dask import remote_generate

        fp = adapter.fingerprint()
        for label in ("dask_first_s_per_completion", "dask_warm_s_per_completion"):
            t0 = time.perf_counter()
            parts = split(prompts, ex.slots)
            futs = [ex.client.submit(remote_generate, task, spec, fp, p, pure=False) for p in parts]
            res = [c for f in futs for c in f.result()]
            out[label.replace("s_per_completion", "workers_used")] = len({c.meta.get("worker") for c in res})
            out[label.replace("s_per_completion", "cpu_s_per_completion")] = sum(c.cpu_s or 0.0 for c in res) / n
            out[label] = (time.perf_counter() - t0) / n
            assert all(c.error is None for c in res), res[0].error
            out["dask_same_text_fraction"] = sum(a.text == b.text for a, b in zip(res, comps, strict=True)) / n
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--apr", default=None, help="a native .apr to time generation with")
    ap.add_argument("--gen", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()

    reqs = candidates(args.n)
    print(f"{len(reqs)} candidates ({sum(1 for r in reqs if r.rust == r.example.rust_reference)} references), "
          f"chunks of {args.chunk}; cpus={len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.1f}")
    from sse.exec.dask import DaskExecutor
    from sse.exec.local import LocalExecutor
    from sse.scorers import verdict_key

    t0 = time.perf_counter()
    for r in reqs:
        verdict_key(r)
    key_ms = 1e3 * (time.perf_counter() - t0) / len(reqs)
    rows: list[tuple[str, float]] = []
    t_serial, base = timed(verify_batch, reqs, args.chunk)
    rows.append(("serial", t_serial))
    diffs: dict[str, list[str]] = {}
    local = LocalExecutor()
    local.verify(reqs[:2 * local.min_batch])  # start the pool (its start-up is not per-chunk work)
    t_local, got = timed(local.verify, reqs, args.chunk)
    local.close()
    rows.append((f"local pool ({local.slots} procs)", t_local))
    diffs[rows[-1][0]] = differences(base, got, reqs)

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        cluster = Loopback(args.workers, Path(d))
        start_s = time.perf_counter() - t0
        ex = None
        try:
            ex = DaskExecutor(cluster.address)
            ex.verify(reqs[:2])  # connect, identify workers, import sse.scorers on them
            t_dask, got = timed(ex.verify, reqs, args.chunk)
            rows.append((f"dask ({args.workers} workers)", t_dask))
            diffs[rows[-1][0]] = differences(base, got, reqs)
            t_all, got = timed(ex.verify, reqs, len(reqs))
            rows.append((f"dask, one call of {len(reqs)}", t_all))
            diffs[rows[-1][0]] = differences(base, got, reqs)
            ov = overhead(ex, reqs)
            gen = generation(args.apr, args.gen, args.max_tokens, ex) if args.apr else None
        finally:
            if ex is not None:
                ex.close()
            cluster.stop()

    statuses: dict[str, int] = {}
    for v in base:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    same = not any(diffs.values())
    print(f"verdicts: {statuses}; identical across modes (status, key, per-test outcomes): {same}")
    for mode, ds in diffs.items():
        for d in ds:
            print(f"  differs in {mode}: {d}")
    # the verdict itself (what pass@1 counts, what the store files it under) must never differ
    status_same = not any("(status or key differs)" in x for d in diffs.values() for x in d)
    print(f"identical status and key in every mode: {status_same}")
    print(f"core-ms per verdict (local pool wall x processes): {1e3 * t_local * local.slots / len(reqs):.0f}; "
          f"client-side verdict_key: {key_ms:.2f} ms per request")
    print(f"{'mode':28} {'wall_s':>8} {'ms/verdict':>11} {'vs serial':>10}")
    for name, t in rows:
        print(f"{name:28} {t:8.2f} {1e3 * t / len(reqs):11.1f} {t_serial / t:9.2f}x")
    print(f"cluster start-up (scheduler + {args.workers} workers): {start_s:.1f} s")
    print(f"dask no-op task round trip: {ov['noop_rtt_ms']:.2f} ms; no-op throughput: {ov['noop_tasks_per_s']:.0f} tasks/s")
    print(f"one verify() call without rustc: local {ov['verify_call_local_ms']:.2f} ms, dask "
          f"{ov['verify_call_dask_ms']:.2f} ms (overhead {ov['verify_call_dask_ms'] - ov['verify_call_local_ms']:.2f} ms "
          f"per call = {100 * (ov['verify_call_dask_ms'] - ov['verify_call_local_ms']) / (1e3 * t_serial / len(reqs) * args.chunk):.2f}% "
          f"of a {args.chunk}-request chunk's serial time)")
    if gen:
        print("generation (native, in-process): " + ", ".join(f"{k}={v:.3f}" for k, v in gen.items()))
    return 0 if status_same else 1


if __name__ == "__main__":
    sys.exit(main())
