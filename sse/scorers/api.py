"""The verify seam: requests in, verdicts out (same order), identical work done once."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sse.core.errors import CorpusError, SseError
from sse.core.records import Example, Verdict
from sse.core.sandbox import isolation_mode
from sse.core.store import content_key, file_key
from sse.scorers.batch import Candidate, verify_candidates
from sse.scorers.extract import extract_rust
from sse.scorers.harness import RUNTIME_RS
from sse.scorers.rustc import toolchain_id
from sse.task.config import GroundTruth
from sse.task.corpus.plus import program_plus_path
from sse.task.translate import expectations, generate_driver, rust_signature, test_code

VERIFIER_VERSION = "verify-2"  # 2: expected values compared in Python, one process per candidate
MAX_BATCH = 120
MIN_SHARD = 30  # below this per worker, one crate is cheaper than two (fixed cost per crate)

__all__ = [
    "VerifyRequest", "extract_rust", "judge_functions", "rust_signature", "test_code", "verdict_key", "verify_batch",
]


@dataclass(frozen=True)
class VerifyRequest:
    example: Example
    rust: str | None
    ground_truth: GroundTruth


def verdict_key(request: VerifyRequest) -> str:
    """Hash of everything a verdict depends on (see the module docstring of sse.scorers)."""
    gt = request.ground_truth
    ex = request.example
    tests = _safe_tests(ex)
    return content_key(
        "verdict", VERIFIER_VERSION, request.rust, tests, RUNTIME_RS, ex.kind,
        [ex.key(), _program_plus_digest(ex)] if ex.kind == "program" else None,
        toolchain_id(), dataclasses.asdict(gt.limits), list(gt.crates), gt.type, gt.run_tests, isolation_mode(),
        gt.allow_unsafe,
    )


def _program_plus_digest(ex: Example) -> str | None:
    """The stored differential plus argvs the program judge will read (their file's content key):
    a new plus set is a new verdict, the suite's own part comes back from the same build."""
    try:
        return file_key(program_plus_path(ex)) if ex.folder else None
    except OSError:
        return None


def _safe_tests(ex: Example) -> str:
    try:
        return test_code(ex)
    except CorpusError as e:
        return f"<corpus error: {e.one_line()}>"


def verify_batch(requests: list[VerifyRequest]) -> list[Verdict]:
    """Verdicts in request order. Identical requests (same verdict key) are judged once;
    infra errors are retried once and then reported as infra_error, never as a model failure."""
    keys = [verdict_key(r) for r in requests]
    unique: dict[str, VerifyRequest] = {}
    for k, r in zip(keys, requests, strict=True):
        unique.setdefault(k, r)
    judged = _judge(list(unique.items()))
    retry = [(k, unique[k]) for k, v in judged.items() if v.status == "infra_error"]
    if retry:
        again = _judge(retry)
        for k, v in again.items():
            judged[k] = dataclasses.replace(v, meta={**v.meta, "retried": True})
    return [dataclasses.replace(judged[k], key=k, isolation=isolation_mode()) for k in keys]


def _shards(cands: list[tuple[Any, Candidate]]) -> list[list[tuple[Any, Candidate]]]:
    """Crates of at most MAX_BATCH modules, and at least one per worker when there are enough
    candidates (rustc's front end is single-threaded; two crates use two cores)."""
    if not cands:
        return []
    n = max(-(-len(cands) // MAX_BATCH), min(_workers(), len(cands) // MIN_SHARD))
    n = max(n, 1)
    size = -(-len(cands) // n)
    return [cands[i:i + size] for i in range(0, len(cands), size)]


def _workers() -> int:
    env = os.environ.get("SSE_VERIFY_WORKERS")
    return max(1, int(env)) if env else max(1, min(4, os.cpu_count() or 1))


def _one_shard(chunk: list[tuple[Any, Candidate]]) -> list[Verdict]:
    try:
        return verify_candidates([c for _, c in chunk])
    except SseError as e:
        return [Verdict("infra_error", diagnostics=e.one_line())] * len(chunk)
    except OSError as e:
        return [Verdict("infra_error", diagnostics=f"harness: {e}")] * len(chunk)


def _map_shards(shards: list[list[tuple[Any, Candidate]]]) -> list[list[Verdict]]:
    if len(shards) <= 1:
        return [_one_shard(c) for c in shards]
    with ThreadPoolExecutor(max_workers=min(_workers(), len(shards))) as pool:
        return list(pool.map(_one_shard, shards))


def _judge(items: list[tuple[str, VerifyRequest]]) -> dict[str, Verdict]:
    """Requests without code are `no_code`; the rest go to the scorer of their ground-truth type."""
    from sse.scorers.registry import scorer_for, scorer_key

    out: dict[str, Verdict] = {}
    groups: dict[str, list[tuple[str, VerifyRequest]]] = {}
    for k, r in items:
        if r.rust is None or not r.rust.strip():
            out[k] = Verdict("no_code", diagnostics="no Rust code found in the completion")
            continue
        groups.setdefault(scorer_key(r), []).append((k, r))
    for gt_type, group in groups.items():
        for (k, _), v in zip(group, scorer_for(gt_type)([r for _, r in group]), strict=True):
            out[k] = v
    return out


def judge_functions(requests: Sequence[VerifyRequest]) -> list[Verdict]:
    """The `compiler` scorer: function examples compiled with their test driver, in shared crates."""
    out: dict[int, Verdict] = {}
    cands: list[tuple[int, Candidate]] = []
    for i, r in enumerate(requests):
        assert r.rust is not None
        try:
            driver = generate_driver(r.example)
            expected = expectations(r.example)
        except CorpusError as e:
            out[i] = Verdict("infra_error", diagnostics=f"corpus problem, not the model's: {e.one_line()}"[:1500])
            continue
        if not r.ground_truth.run_tests:
            driver, expected = "pub(crate) fn run(_r: &mut crate::sse_rt::Runner) {}\n", ()
        cands.append((i, Candidate(r.rust, driver, expected, r.ground_truth.limits, r.ground_truth.allow_unsafe)))
    for chunk, verdicts in zip(_shards(cands), _map_shards(_shards(cands)), strict=True):
        for (i, _), v in zip(chunk, verdicts, strict=True):
            out[i] = v
    return [out[i] for i in range(len(requests))]
