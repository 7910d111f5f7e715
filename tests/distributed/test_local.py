"""The local executor's process pool, the splitting rule, what travels, and worker-side refusals."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from cluster_helpers import EXAMPLES, write_project
from hypothesis import given
from hypothesis import strategies as st

from sse.core.records import Completion, Verdict
from sse.exec import close_executor, get_executor, n_parts, split
from sse.exec.dask import identity, mismatch, remote_generate, remote_verify
from sse.exec.local import LocalExecutor
from sse.scorers import VerifyRequest, verdict_key, verify_batch
from sse.task.config import GroundTruth
from sse.task.corpus import load_corpus
from sse.task.spec import Decoding, Prompt, SystemSpec


@given(st.lists(st.integers(), max_size=50), st.integers(min_value=1, max_value=12))
def test_split_keeps_order_and_balance(items: list[int], parts: int) -> None:
    chunks = split(items, parts)
    assert [x for c in chunks for x in c] == items
    if items:
        sizes = [len(c) for c in chunks]
        assert len(chunks) == min(parts, len(items)) and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_n_parts_respects_slots_and_minimum_batch() -> None:
    assert n_parts(0, 4, 16) == 0
    assert n_parts(10, 4, 16) == 1  # too small to be worth a second crate
    assert n_parts(64, 2, 16) == 2
    assert n_parts(64, 8, 16) == 4  # no sub-batch under 16
    assert n_parts(64, 8, 1) == 8


def _requests(tmp_path: Path) -> list[VerifyRequest]:
    project = write_project(tmp_path, "systems: {}\n", "")
    exs = list(load_corpus(str(project / "corpus.jsonl")).examples)
    reqs = [VerifyRequest(example=e, rust=e.rust_reference, ground_truth=GroundTruth()) for e in exs]
    # a compile error and a missing answer in the middle: order must survive the split
    reqs.insert(2, dataclasses.replace(reqs[0], rust="pub fn add(a: i64) -> { }"))
    reqs.insert(4, dataclasses.replace(reqs[1], rust=None))
    return reqs


def _comparable(v: Verdict) -> tuple[object, ...]:
    return (v.status, v.key, v.tests_passed, v.tests_total, v.error_codes, [(t.name, t.status) for t in v.tests])


def test_local_pool_gives_the_in_process_verdicts_in_order(tmp_path: Path) -> None:
    reqs = _requests(tmp_path)
    ex = LocalExecutor(workers=2, min_batch=2)
    try:
        pooled = ex.verify(reqs)
        assert ex._pool is not None  # the batch really went to the pool
    finally:
        ex.close()
    direct = verify_batch(reqs)
    assert [_comparable(v) for v in pooled] == [_comparable(v) for v in direct]
    assert [v.key for v in pooled] == [verdict_key(r) for r in reqs]
    assert {v.status for v in pooled} >= {"pass", "compile_error", "no_code", "test_failure"}


def test_records_that_travel_pickle(tmp_path: Path) -> None:
    reqs = _requests(tmp_path)
    prompt = Prompt(system="s", user="u", example=reqs[0].example, run=3, decoding=Decoding(stop=("x",)))
    comp = Completion(system="m", example_id="add", run=0, text="t", meta={"worker": "w"})
    assert pickle.loads(pickle.dumps(reqs)) == reqs
    assert pickle.loads(pickle.dumps(prompt)) == prompt
    assert pickle.loads(pickle.dumps(comp)) == comp
    v = verify_batch(reqs[:1])[0]
    assert pickle.loads(pickle.dumps(v)) == v


def test_worker_refuses_verification_with_another_toolchain(tmp_path: Path) -> None:
    reqs = _requests(tmp_path)[:2]
    me = identity()
    other = me | {"toolchain": "rustc 0.0.1-other\nrelease: 0.0.1"}
    assert mismatch(me, me) is None and "toolchain" in (mismatch(other, me) or "")
    verdicts = remote_verify(reqs, other)
    assert [v.status for v in verdicts] == ["infra_error", "infra_error"]  # never stored, retried next run
    assert all(v.meta["toolchain_mismatch"] and "refused" in v.diagnostics for v in verdicts)
    good = remote_verify(reqs, me)
    assert good[0].status == "pass" and good[0].meta["worker_toolchain"] == me["toolchain"].splitlines()[0]


def test_worker_refuses_generation_with_another_model(tmp_path: Path) -> None:
    import fake_kinds

    exs = list(load_corpus(str(write_project(tmp_path, "systems: {}\n", "") / "corpus.jsonl")).examples)
    spec = SystemSpec(name="good", kind=fake_kinds.KIND, options={"mode": "good"})
    prompts = [Prompt(system="s", user="u", example=e, run=0, decoding=Decoding()) for e in exs[:2]]
    ok = remote_generate(None, spec, "dist-fake/good", prompts)
    assert [c.error for c in ok] == [None, None] and EXAMPLES[0][3] in ok[0].text
    refused = remote_generate(None, spec, "dist-fake/other-weights", prompts)
    assert all(c.error_kind == "crash" and "another model" in (c.error or "") for c in refused)


def test_get_executor_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from sse.core.errors import ConfigError

    monkeypatch.delenv("SSE_SCHEDULER", raising=False)
    close_executor()
    a = get_executor()
    assert a.name == "local" and get_executor() is a and a.slots >= 1
    monkeypatch.setenv("SSE_SCHEDULER", "nonsense")
    with pytest.raises(ConfigError, match="SSE_SCHEDULER"):
        get_executor()
    close_executor()


def _child(q: Any) -> None:
    import sse.exec as m

    before = m._EXECUTOR_PID
    m.get_executor()
    q.put((before, m._EXECUTOR_PID, os.getpid()))


def test_forked_child_gets_its_own_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    """`doit -n N` forks: a child must not use its parent's pool or cluster connection."""
    import multiprocessing

    import sse.exec as m

    monkeypatch.delenv("SSE_SCHEDULER", raising=False)
    close_executor()
    get_executor()
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    before, after, child = q.get(timeout=30)
    p.join(timeout=30)
    assert before == os.getpid() == m._EXECUTOR_PID and after == child != os.getpid()
    close_executor()
