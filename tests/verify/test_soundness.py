"""Soundness: references pass, mutants are caught (small form always; the bundled corpus when slow)."""

from __future__ import annotations

import pytest
from verify_helpers import make_example, needs_rustc

from sse.core.records import TestCase
from sse.scorers.mutants import check_soundness, make_mutants

REF = """pub fn count_below(xs: Vec<i64>, limit: i64) -> i64 {
    let mut n = 0;
    for x in xs.iter() {
        if *x < limit && *x != 0 {
            n += 1;
        }
    }
    // a comment with 1 < 2 must not be mutated
    let _s = "3 + 4";
    n
}
"""


def test_mutant_kinds_and_sites() -> None:
    ms = make_mutants(REF, "count_below", per_kind=2)
    kinds = {m.kind for m in ms}
    assert kinds == {"off_by_one", "wrong_operator", "wrong_type"}
    for m in ms:
        assert m.rust != REF
        assert "1 < 2" in m.rust and '"3 + 4"' in m.rust  # comments and strings untouched
    types = [m for m in ms if m.kind == "wrong_type"]
    assert any("Vec<i32>" in m.rust or "-> i32" in m.rust or "limit: i32" in m.rust or "HashSet<" in m.rust
               for m in types)
    assert all(len([m for m in ms if m.kind == k]) <= 2 for k in kinds)


@needs_rustc
def test_soundness_small() -> None:
    ex = make_example("def count_below(xs: list[int], limit: int) -> int:\n"
                      "    return sum(1 for x in xs if x < limit and x != 0)", "count_below",
                      [TestCase(([1, 2, 3], 3), 2), TestCase(([0, -1, 5], 0), 1), TestCase(([], 1), 0),
                       TestCase(([4, 4], 5), 2)])
    ex = type(ex)(**{**ex.__dict__, "rust_reference": REF})
    weak_ex = make_example("def one(x: int) -> int:\n    return 1", "one", [((1,), 1), ((2,), 1), ((3,), 1)])
    weak_ex = type(weak_ex)(**{**weak_ex.__dict__, "rust_reference": "pub fn one(x: i64) -> i64 { let _ = x; 1 }"})
    rep = check_soundness([ex, weak_ex])
    assert not rep.reference_failures
    caught, total = rep.kill_rate()
    assert total >= 5 and caught >= 4
    # one() has a single literal and a type: the off-by-one and the type mutant are both caught.
    assert all(e.caught >= 2 for e in rep.examples)
    assert "mutant kill rate" in rep.render()


@pytest.mark.slow
@needs_rustc
def test_bundled_corpus_soundness() -> None:
    from sse.task.corpus import load_corpus

    corpus = load_corpus("bundled:functions")
    if len(corpus.examples) < 100:
        pytest.skip(f"bundled corpus has {len(corpus.examples)} examples (< 100): still being written")
    rep = check_soundness(corpus.examples)
    print(rep.render())
    assert not rep.reference_failures, rep.render()
    assert not rep.weak, rep.render()
