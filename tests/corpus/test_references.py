"""Every Rust reference of the bundled corpus passes its generated tests (this certifies the tests)."""

from __future__ import annotations

import pytest

from sse.task.config import GroundTruth
from sse.task.corpus import load_corpus

verify = pytest.importorskip("sse.scorers")


def _judge(ids: list[str] | None) -> list[tuple[str, str, str]]:
    c = load_corpus("bundled:functions")
    ex = [e for e in c.examples if ids is None or e.id in ids]
    assert ex
    vs = verify.verify_batch([verify.VerifyRequest(e, e.rust_reference, GroundTruth()) for e in ex])
    return [(e.id, v.status, v.diagnostics[:300]) for e, v in zip(ex, vs, strict=True)]


def test_a_few_references_pass_and_a_wrong_one_fails() -> None:
    c = load_corpus("bundled:functions")
    e = next(x for x in c.examples if x.id == "floor_divide")
    truncating = "pub fn floor_divide(a: i64, b: i64) -> i64 { a / b }\n"
    good, bad = verify.verify_batch([verify.VerifyRequest(e, e.rust_reference, GroundTruth()),
                                     verify.VerifyRequest(e, truncating, GroundTruth())])
    assert good.status == "pass"
    assert bad.status == "test_failure"
    assert all(s == "pass" for _, s, _ in _judge(["greet", "char_frequency", "find_in_grid"]))


@pytest.mark.slow
def test_every_reference_passes() -> None:
    failed = [r for r in _judge(None) if r[1] != "pass"]
    assert not failed, failed
