"""The Dask executor: generation and verification batches on a `dask scheduler` cluster.

What travels: the TaskConfig, the SystemSpec, the expected model fingerprint and the prompts
(with their Examples) go to a worker for generation; VerifyRequests (Example, Rust, GroundTruth)
go for verification. Completions and Verdicts come back as plain dataclasses. Workers need no
shared file system: the client writes every result into its own store.

Workers build adapters themselves from the shipped SystemSpec and TaskConfig and keep them in a
per-process cache (`sse.systems.base.adapter_for`), so a native model is loaded once per worker, not per task. A
native model is found the way the client finds it, on the worker: `options.apr` (a path on the
worker) or the acquisition layer (fetch with the pinned sha256 + convert + validate into the
worker's own SSE_CACHE_DIR). The worker refuses to generate when its model's fingerprint differs
from the client's (a completion is never stored under a key of another model).

Verdict keys hash the toolchain (`rustc -vV`), the isolation mode and the verifier version. A
worker whose identity differs from the client's gets no verification work (when it is known to
differ) and refuses any that reaches it (infra_error, never stored, retried next run); every
returned verdict's key is also compared with the client's own key. The worker and its toolchain
are recorded in Verdict.meta.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sse.core.errors import SseError
from sse.core.records import Completion, Verdict
from sse.core.store import content_key
from sse.exec.base import Judge, n_parts, split
from sse.systems.base import adapter_for
from sse.task.spec import Prompt, SystemSpec

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_TIMEOUT_S = 5.0
NO_WORKER_TIMEOUT_S = 120.0  # all workers gone this long -> error instead of waiting forever
IDENTITY_FIELDS = ("toolchain", "isolation", "verifier")


class ClusterError(SseError):
    """The Dask cluster cannot be used: unreachable, no workers, or no compatible worker."""


# ------------------------------------------------------------------ shared helpers
def identity() -> dict[str, Any]:
    """What a verdict computed in this process depends on beyond its request (and where it ran)."""
    from sse.core.sandbox import isolation_mode
    from sse.scorers.api import VERIFIER_VERSION
    from sse.scorers.rustc import toolchain_id

    try:
        tc = toolchain_id()
    except SseError as e:
        tc = f"<unavailable: {e.one_line()}>"
    return {"toolchain": tc, "isolation": isolation_mode(), "verifier": VERIFIER_VERSION,
            "host": socket.gethostname(), "pid": os.getpid()}


def mismatch(expected: dict[str, Any], actual: dict[str, Any]) -> str | None:
    """None when verdicts from `actual` are interchangeable with `expected`'s; else what differs."""
    diffs = [f"{f} {toolchain_label(str(actual.get(f)))!r} != client's {toolchain_label(str(expected.get(f)))!r}"
             for f in IDENTITY_FIELDS if actual.get(f) != expected.get(f)]
    return "; ".join(diffs) or None


def toolchain_label(tc: str) -> str:
    """First line of `rustc -vV` (e.g. 'rustc 1.95.0 (...)')."""
    return tc.splitlines()[0] if tc else tc


# ------------------------------------------------------------------ worker side


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _failed(prompts: Sequence[Prompt], system: str, msg: str) -> list[Completion]:
    return [Completion(system=system, example_id=p.example.id, run=p.run, text="", error=msg, error_kind="crash")
            for p in prompts]


def remote_generate(task: Any, spec: SystemSpec, fingerprint: str | None, prompts: list[Prompt]) -> list[Completion]:
    """Runs on a worker: completions for prompts, or error completions (never stored) when this
    worker cannot produce the client's model."""
    where = _worker_address()
    try:
        adapter = adapter_for(task=task, spec=spec)
        reason = adapter.unavailable_reason()
        if reason is not None:
            return _failed(prompts, spec.name, f"worker {where}: system unavailable there: {reason}")
        fp = adapter.fingerprint()
    except SseError as e:
        return _failed(prompts, spec.name, f"worker {where}: {e.one_line()}")
    if fingerprint is not None and fp != fingerprint:
        return _failed(prompts, spec.name, f"worker {where} has another model ({fp} != client's {fingerprint}); "
                                           "fix: give the worker the same model file")
    comps = adapter.generate(prompts)
    return [dataclasses.replace(c, meta={**c.meta, "worker": where}) for c in comps]


def remote_verify(requests: list[Any], expected: dict[str, Any]) -> list[Verdict]:
    """Runs on a worker: verdicts from the worker's own sandbox, refused when its toolchain,
    isolation or verifier differ from the client's (they are part of the verdict key)."""
    from sse.scorers import verify_batch

    where = _worker_address()
    me = identity()
    meta = {"worker": where, "worker_toolchain": toolchain_label(me["toolchain"]),
            "worker_toolchain_key": content_key(me["toolchain"]), "worker_isolation": me["isolation"]}
    why = mismatch(expected, me)
    if why is not None:
        return [Verdict("infra_error", diagnostics=f"worker {where} refused: {why}"[:1500],
                        meta=meta | {"toolchain_mismatch": True}) for _ in requests]
    return [dataclasses.replace(v, meta={**v.meta, **meta}) for v in verify_batch(requests)]


# ------------------------------------------------------------------ client side
def normalise_address(address: str) -> str:
    address = address.strip()
    return address if "://" in address else f"tcp://{address}"


class DaskExecutor:
    """Batches go to a Dask cluster; results come back in order for the caller to store."""

    name = "dask"

    def __init__(self, address: str, timeout_s: float | None = None, min_batch: int | None = None) -> None:
        from distributed import Client

        self.address = normalise_address(address)
        t = timeout_s if timeout_s is not None else float(os.environ.get("SSE_SCHEDULER_TIMEOUT", DEFAULT_TIMEOUT_S))
        fix = "start `dask scheduler` and `dask worker` there, check host and port, or unset SSE_SCHEDULER to run locally"
        try:
            self.client = Client(self.address, timeout=t, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address} within {t:g}s "
                               f"({type(e).__name__})", field="SSE_SCHEDULER", fix=fix) from None
        try:
            self.client.wait_for_workers(1, timeout=t)
        except (OSError, TimeoutError) as e:
            self.client.close()
            raise ClusterError(f"the Dask scheduler at {self.address} has no workers after {t:g}s "
                               f"({type(e).__name__})", field="SSE_SCHEDULER", fix="start `dask worker "
                               f"{self.address}` on the worker machines") from None
        self.min_batch = min_batch or int(os.environ.get("SSE_DASK_MIN_BATCH", "4"))
        self._me: dict[str, Any] | None = None
        self._identities: dict[str, dict[str, Any]] = {}
        self._warned: set[str] = set()

    # -- cluster state
    @property
    def slots(self) -> int:
        """Threads across the cluster's workers now."""
        return max(1, sum(self.client.nthreads().values()))

    def client_identity(self) -> dict[str, Any]:
        if self._me is None:
            self._me = identity()
        return self._me

    def worker_identities(self, current: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Identity of every current worker (asked once per worker address)."""
        current = set(self.client.nthreads()) if current is None else current
        new = sorted(current - set(self._identities))
        if new:
            got = self.client.run(identity, workers=new, on_error="return")
            for addr, ident in got.items():
                if isinstance(ident, dict):
                    self._identities[addr] = ident
        return {a: self._identities[a] for a in current if a in self._identities}

    def compatible_workers(self, current: set[str] | None = None) -> tuple[list[str], dict[str, str]]:
        """(workers whose verdicts match the client's, {other worker: what differs})."""
        me = self.client_identity()
        ok, bad = [], {}
        for addr, ident in sorted(self.worker_identities(current).items()):
            why = mismatch(me, ident)
            if why is None:
                ok.append(addr)
            else:
                bad[addr] = why
        for addr, why in bad.items():
            if addr not in self._warned:
                self._warned.add(addr)
                print(f"sse: warning: dask worker {addr} gets no verification work: {why}", file=sys.stderr)
        return ok, bad

    # -- running futures
    def _run(self, fn: Callable[..., list[R]], parts: list[tuple[Any, ...]], failed: Callable[[int, str], list[R]],
             workers: list[str] | None = None) -> list[R]:
        """Submit one task per part, gather in order; Ctrl-C cancels them on the cluster.

        A worker that dies mid-task is replaced by the scheduler rescheduling the task elsewhere;
        a task that fails for good becomes `failed(i, reason)` (error records, never stored).
        """
        futures = [self.client.submit(fn, *args, pure=False, retries=1, workers=workers) for args in parts]
        try:
            no_workers_since: float | None = None
            for f in futures:
                while True:
                    try:
                        f.result(timeout=2.0)
                        break
                    except TimeoutError:
                        pass
                    except Exception:  # noqa: BLE001 - reported per part below
                        break
                    alive = set(self.client.nthreads())
                    if alive if workers is None else alive & set(workers):
                        no_workers_since = None
                    elif no_workers_since is None:
                        no_workers_since = time.monotonic()
                    elif time.monotonic() - no_workers_since > float(
                            os.environ.get("SSE_DASK_NO_WORKER_TIMEOUT", NO_WORKER_TIMEOUT_S)):
                        raise ClusterError(f"every usable worker of {self.address} is gone", field="SSE_SCHEDULER",
                                           fix="restart `dask worker`s; finished results are already stored")
            out: list[R] = []
            for i, f in enumerate(futures):
                try:
                    out.extend(f.result())
                except Exception as e:  # noqa: BLE001 - KilledWorker, a bug on the worker: the harness failed
                    out.extend(failed(i, f"dask: {type(e).__name__}: {e}"[:500]))
            return out
        except BaseException:
            self.client.cancel(futures, force=True)
            raise

    # -- the Executor protocol
    def generate(self, spec: SystemSpec, task: Any, prompts: list[Prompt]) -> list[Completion]:
        if not prompts:
            return []
        fp = adapter_for(spec, task).fingerprint()
        chunks = split(prompts, self.slots)
        return self._run(remote_generate, [(task, spec, fp, c) for c in chunks],
                         lambda i, why: _failed(chunks[i], spec.name, why))

    def verify(self, requests: list[Any], judge: Judge | None = None) -> list[Verdict]:
        """Verdicts from the workers' own scorers (a substituted `judge` runs here, in the client)."""
        if not requests:
            return []
        if judge is not None:
            return list(judge(requests))
        from sse.scorers import verdict_key

        threads = self.client.nthreads()  # one round trip for the cluster's state
        ok, bad = self.compatible_workers(set(threads))
        if not ok:
            raise ClusterError(f"no worker of {self.address} has the client's toolchain: "
                               + "; ".join(f"{a}: {w}" for a, w in bad.items()), field="SSE_SCHEDULER",
                               fix="install the same Rust toolchain (rustc -vV) and sse version on the workers")
        keys = [verdict_key(r) for r in requests]
        slots = sum(threads[a] for a in ok) or 1
        chunks = split(requests, n_parts(len(requests), slots, self.min_batch))
        me = self.client_identity()
        expected = {f: me[f] for f in IDENTITY_FIELDS}
        verdicts = self._run(remote_verify, [(c, expected) for c in chunks],
                             lambda i, why: [Verdict("infra_error", diagnostics=why)] * len(chunks[i]),
                             workers=ok if bad else None)
        out = []
        for k, v in zip(keys, verdicts, strict=True):
            if v.status != "infra_error" and v.key != k:
                v = Verdict("infra_error", key=k, meta=v.meta | {"worker_key": v.key},
                            diagnostics=f"worker {v.meta.get('worker')} computed verdict key {v.key}, client {k}: "
                                        "its toolchain, sandbox or sse version differs")
            out.append(v)
        return out

    def close(self) -> None:
        try:
            self.client.close(timeout=2)
        except Exception:  # noqa: BLE001 - closing a dead connection must not mask the real error
            pass
