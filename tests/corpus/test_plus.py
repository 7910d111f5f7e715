"""Plus tests (sse.task.corpus.plus) and the Python mutants they are reduced by (sse.task.corpus.astmutants)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sse.cli.plus_commands import case_fits, signature_info
from sse.core.records import Example, TestCase, TestOutcome, Verdict
from sse.task.corpus import astmutants
from sse.task.corpus.plus import (
    candidate_inputs,
    ensure_plus,
    generate_plus,
    load_plus,
    plus_dir,
    views,
    with_plus,
)


def _example(python: str, entry: str, tests: list[TestCase], rust: str | None = None) -> Example:
    return Example(id=entry, python=python, entry_point=entry, tests=tuple(tests), rust_reference=rust)


def _call(python: str, entry: str, args: tuple) -> object:
    ns: dict[str, object] = {}
    exec(python, ns)  # the test's own trusted source
    return ns[entry](*args)  # type: ignore[operator]


CLAMP = "def clamp_add(a: int, b: int) -> int:\n    return min(a + b, 100)\n"
CLAMP_TESTS = [TestCase((1, 2), 3), TestCase((10, 20), 30), TestCase((50, 40), 90)]


def test_candidates_stay_in_the_seeds_domain_and_are_reproducible() -> None:
    py = "def f(xs: list[int], k: int) -> int:\n    return sum(x for x in xs if x > k)\n"
    ex = _example(py, "f", [TestCase(([1, 5, 3], 2), 8), TestCase(([], 0), 0), TestCase(([7, 7], 1), 14)])
    sig = signature_info(ex)
    a, origin = candidate_inputs(ex, sig)
    b, _ = candidate_inputs(ex, sig)
    assert a == b and origin["mutation"] > 50 and origin["hypothesis"] > 20
    gen = a[origin["base"]:]
    assert all(k >= 0 and all(x >= 0 for x in xs) for xs, k in gen)  # every seed is >= 0
    assert max(len(xs) for xs, _ in gen) <= 2 * 3 + 3
    assert len({repr(x) for x in a}) == len(a)  # deduplicated, base included
    assert any(len(xs) == 0 for xs, _ in gen) and any(len(xs) >= 4 for xs, _ in gen)


def test_plus_cases_carry_the_pythons_values_and_kill_what_the_base_misses() -> None:
    ex = _example(CLAMP, "clamp_add", CLAMP_TESTS)
    ps, why = generate_plus(ex, signature_info(ex), case_fits(ex))
    assert ps.tests and len(why) == len(ps.tests) and all(why)
    for t in ps.tests:
        assert t.raises is None and t.expected == _call(CLAMP, "clamp_add", t.args)
    # the constant mutant 100 -> 101 survives the base tests (sums <= 90); a plus case kills it
    assert any(t.args[0] + t.args[1] > 100 for t in ps.tests)
    p = ps.provenance
    assert p["killed_full"] > p["killed_base"] and p["kept"] == len(ps.tests)


def test_raising_inputs_are_dropped_unless_the_example_is_fallible() -> None:
    py = ("def inv(x: int) -> int:\n    if x < 0:\n        raise ValueError('neg')\n    return 100 // x\n")
    plain = _example(py, "inv", [TestCase((1,), 100), TestCase((5,), 20), TestCase((-3,), None, "ValueError")])
    ps, _ = generate_plus(plain, signature_info(plain), case_fits(plain))
    # fallible via ValueError: ValueError inputs become Err cases, ZeroDivisionError (x = 0) is dropped
    assert any(t.raises == "ValueError" for t in ps.tests)
    assert all(t.args != (0,) for t in ps.tests)
    assert ps.provenance["dropped"]["raises"] >= 1
    total = _example("def half(x: int) -> int:\n    return 10 // x\n", "half",
                     [TestCase((1,), 10), TestCase((2,), 5), TestCase((5,), 2)])
    ps2, _ = generate_plus(total, signature_info(total), case_fits(total))
    assert all(t.raises is None and t.args[0] != 0 for t in ps2.tests)


def test_hangs_are_dropped() -> None:
    py = "def walk(n: int) -> int:\n    while n != 0:\n        n -= 2\n    return 1\n"
    ex = _example(py, "walk", [TestCase((2,), 1), TestCase((4,), 1), TestCase((0,), 1)])
    ps, _ = generate_plus(ex, signature_info(ex), case_fits(ex))
    assert ps.provenance["dropped"]["timeout"] > 0
    assert all(t.args[0] % 2 == 0 for t in ps.tests)


def test_stored_beside_the_corpus_and_recomputed_only_when_the_example_changes(tmp_path: Path) -> None:
    ex = _example(CLAMP, "clamp_add", CLAMP_TESTS)
    calls: list[str] = []
    first = ensure_plus(tmp_path, [ex], signature_info, case_fits, progress=lambda i, p: calls.append(i))
    assert calls == ["clamp_add"] and (plus_dir(tmp_path) / "clamp_add.json").exists()
    again = ensure_plus(tmp_path, [ex], signature_info, case_fits, progress=lambda i, p: calls.append(i))
    assert calls == ["clamp_add"] and again["clamp_add"].tests == first["clamp_add"].tests
    edited = _example(CLAMP.replace("100", "50"), "clamp_add", [TestCase((1, 2), 3), TestCase((10, 20), 30),
                                                                TestCase((30, 40), 50)])
    fresh, stale = load_plus(tmp_path, [edited])
    assert not fresh and stale == ["clamp_add"]
    other_rust = _example(CLAMP, "clamp_add", CLAMP_TESTS, rust="pub fn clamp_add(a: i64, b: i64) -> i64 { a }")
    assert load_plus(tmp_path, [other_rust])[0]  # the Rust reference is not an input of the plus tests


def test_views_read_base_and_base_plus_off_one_verdict() -> None:
    ex = with_plus(_example(CLAMP, "clamp_add", CLAMP_TESTS), None)
    assert ex.tests == tuple(CLAMP_TESTS)
    from sse.task.corpus.plus import PlusSet

    ex = with_plus(ex, PlusSet("clamp_add", "k", (TestCase((90, 90), 100),)))
    assert len(ex.tests) == 4 and ex.meta["plus"] == {"base": 3, "plus": 1, "key": "k"}
    outs = tuple(TestOutcome(f"t{i}", "pass") for i in range(3)) + (TestOutcome("t3", "fail", "180 != 100"),)
    assert views(ex, Verdict("test_failure", tests=outs)) == {"base": True, "base+plus": False}
    bad_base = (TestOutcome("t0", "fail"),) + outs[1:]
    assert views(ex, Verdict("test_failure", tests=bad_base)) == {"base": False, "base+plus": False}
    assert views(ex, Verdict("compile_error")) == {"base": False, "base+plus": False}
    assert views(ex, Verdict("pass", tests=outs[:3] + (TestOutcome("t3", "pass"),))) == {"base": True,
                                                                                        "base+plus": True}


def test_a_wrong_translation_that_passes_base_fails_base_plus() -> None:
    from sse.scorers.api import VerifyRequest, verify_batch
    from sse.task.config import GroundTruth

    ex = _example(CLAMP, "clamp_add", CLAMP_TESTS)
    ps, _ = generate_plus(ex, signature_info(ex), case_fits(ex))
    full = with_plus(ex, ps)
    right = "pub fn clamp_add(a: i64, b: i64) -> i64 { std::cmp::min(a + b, 100) }\n"
    wrong = "pub fn clamp_add(a: i64, b: i64) -> i64 { a + b }\n"
    v_right, v_wrong = verify_batch([VerifyRequest(full, right, GroundTruth()), VerifyRequest(full, wrong, GroundTruth())])
    assert views(full, v_right) == {"base": True, "base+plus": True}, v_right.diagnostics
    assert views(full, v_wrong) == {"base": True, "base+plus": False}


# ------------------------------------------------------------------ Python mutants
def test_mutants_cover_every_kind_compile_and_leave_wording_alone() -> None:
    src = ('"""module doc"""\nimport argparse\n\n'
           "def f(xs: list[int], k: int) -> int:\n"
           '    """doc"""\n'
           "    t = 0\n"
           "    for x in xs:\n"
           "        if x > k and not x == 3:\n"
           "            t += x // 2 % 7\n"
           "    return max(t, -k)\n\n"
           "p = argparse.ArgumentParser(description='a tool')\n"
           "p.add_argument('n', help='how many')\n")
    ms = astmutants.mutants(src)
    assert {m.kind for m in ms} == set(astmutants.KINDS)
    for m in ms:
        tree = ast.parse(m.source)
        assert m.source != ast.unparse(ast.parse(src))
        consts = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        if m.kind != "drop_statement":
            assert {"module doc", "doc", "a tool", "how many"} <= consts, m.description
    assert len({m.id for m in ms}) == len(ms)
    inside = astmutants.mutants(src, within="f")
    assert inside and all(5 <= m.line <= 10 for m in inside)
    few = astmutants.mutants(src, limit=6)
    assert len(few) == 6 and len({m.kind for m in few}) >= 5


@pytest.mark.parametrize(("op", "args", "python", "rust_like"), [
    ("//", (-7, 2), -4, -3), ("%", (-7, 2), 1, -1), ("/", (7, 2), 3.5, 3)])
def test_rust_semantics_mutants_behave_like_a_naive_translation(op: str, args: tuple, python: object,
                                                                rust_like: object) -> None:
    src = f"def g(a: int, b: int):\n    return a {op} b\n"
    m = next(m for m in astmutants.mutants(src) if m.kind == "rust_semantics")
    assert _call(src, "g", args) == python and _call(m.source, "g", args) == rust_like
