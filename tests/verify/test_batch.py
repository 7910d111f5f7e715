"""Batched compilation: attribution, drop-and-recompile, isolation from neighbours, keys, retries."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from verify_helpers import make_example, needs_rustc

from sse.core.records import TestCase
from sse.scorers import VerifyRequest, verdict_key, verify_batch
from sse.scorers.batch import Candidate, verify_candidates
from sse.task.config import GroundTruth, Limits

EX = make_example("def add(a: int, b: int) -> int:\n    return a + b", "add",
                  [((1, 2), 3), ((0, 0), 0), ((-5, 2), -3)])
GOOD = "pub fn add(a: i64, b: i64) -> i64 { a + b }\n"
GT = GroundTruth()


@needs_rustc
def test_errors_attributed_per_module_and_neighbours_survive() -> None:
    sources = [
        GOOD,
        "pub fn add(a: i64, b: i64) -> i64 { a + \n",                      # parse error (truncated)
        "pub fn add(a: i64, b: i64) -> i64 { let v = vec![a]; let w = v; v.len() as i64 + w[0] + b - 1 }",  # E0382
        "pub fn add(a: i64, b: i64) -> i64 { \"nope\" }",                  # E0308
        "pub fn add(a: i64, b: i64) -> i64 { a - b }",                     # wrong
        "pub fn add(a: i32, b: i32) -> i32 { a + b }",                     # wrong signature: E0308 in the tests
        "pub fn add(a: i64, b: i64) -> i64 { undefined_helper(a) + b }",  # E0425
        GOOD.replace("a + b", "b + a"),
    ]
    vs = verify_batch([VerifyRequest(EX, s, GT) for s in sources])
    st = [v.status for v in vs]
    assert st == ["pass", "compile_error", "compile_error", "compile_error", "test_failure", "compile_error",
                  "compile_error", "pass"]
    assert "E0382" in vs[2].error_codes
    assert "E0308" in vs[3].error_codes and "E0308" in vs[5].error_codes
    assert "E0425" in vs[6].error_codes
    assert "candidate.rs" in vs[3].diagnostics and "/tmp" not in vs[3].diagnostics
    assert vs[4].tests_passed == 1 and vs[4].tests_total == 3 and vs[4].failing_test == "t0"
    assert "add(1, 2) returned -1, expected 3" in vs[4].diagnostics


@needs_rustc
def test_batch_verdicts_equal_alone_verdicts() -> None:
    """The batched path and one-crate-per-candidate agree, including on crate-level collisions."""
    macro = "#[macro_export]\nmacro_rules! helper { ($x:expr) => { $x } }\npub fn add(a: i64, b: i64) -> i64 { helper!(a) + b }"
    sources = [GOOD, macro, macro + "\n// twin", "pub fn add(a: i64, b: i64) -> i64 { a * b }",
               "pub fn add(a: i64, b: i64) -> i64 { let x: u8 = 300; a + b }"]
    cands = [_cand(s) for s in sources]
    batched = verify_candidates(cands, batch=True)
    alone = verify_candidates(cands, batch=False)
    assert [v.status for v in batched] == [v.status for v in alone]
    assert [v.status for v in alone] == ["pass", "pass", "pass", "test_failure", "compile_error"]
    assert [v.tests_passed for v in batched] == [v.tests_passed for v in alone]


def _cand(rust: str, limits: Limits | None = None) -> Candidate:
    from sse.task.translate import expectations, generate_driver

    return Candidate(rust, generate_driver(EX), expectations(EX), limits or Limits())


@needs_rustc
def test_models_own_tests_are_not_run_and_main_is_harmless() -> None:
    src = GOOD + "\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn mine() { assert!(false); }\n}\nfn main() { }\n"
    v = verify_batch([VerifyRequest(EX, src, GT)])[0]
    assert v.status == "pass" and v.tests_total == 3


@needs_rustc
def test_no_code_and_compile_only() -> None:
    vs = verify_batch([VerifyRequest(EX, None, GT), VerifyRequest(EX, "  \n", GT),
                       VerifyRequest(EX, "pub fn add(a: i64, b: i64) -> i64 { a - b }",
                                     dataclasses.replace(GT, run_tests=False))])
    assert [v.status for v in vs] == ["no_code", "no_code", "pass"]


@needs_rustc
def test_raising_cases_with_result() -> None:
    ex = make_example("def div(a: int, b: int) -> int:\n    return a // b", "div",
                      [TestCase((7, 2), 3), TestCase((1, 0), raises="ZeroDivisionError"), TestCase((-7, 2), -4)])
    ok = ("pub fn div(a: i64, b: i64) -> Result<i64, String> { if b == 0 { return Err(\"zero\".into()); }"
          " Ok(a.div_euclid(b)) }")
    panics = "pub fn div(a: i64, b: i64) -> Result<i64, String> { Ok(a.div_euclid(b)) }"
    never_err = "pub fn div(a: i64, b: i64) -> Result<i64, String> { Ok(if b == 0 { 0 } else { a.div_euclid(b) }) }"
    vs = verify_batch([VerifyRequest(ex, s, GT) for s in (ok, panics, never_err)])
    assert [v.status for v in vs] == ["pass", "test_failure", "test_failure"]
    assert vs[1].tests_passed == 2 and "expected Err" in vs[2].diagnostics


def test_verdict_key_covers_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    import sse.scorers.api as api

    monkeypatch.setattr(api, "toolchain_id", lambda: "rustc fake")
    base = VerifyRequest(EX, GOOD, GT)
    k = verdict_key(base)
    assert verdict_key(VerifyRequest(EX, GOOD, GT)) == k
    variants = [
        VerifyRequest(EX, GOOD + " ", GT),
        VerifyRequest(EX, GOOD, dataclasses.replace(GT, limits=Limits(test_timeout_s=3))),
        VerifyRequest(EX, GOOD, dataclasses.replace(GT, crates=("regex",))),
        VerifyRequest(dataclasses.replace(EX, tests=EX.tests[:2]), GOOD, GT),
    ]
    assert len({verdict_key(r) for r in variants} | {k}) == 5
    monkeypatch.setattr(api, "toolchain_id", lambda: "rustc other")
    assert verdict_key(base) != k
    monkeypatch.setattr(api, "isolation_mode", lambda: "rlimits")
    assert verdict_key(base) not in (k,)


def test_infra_error_retried_once_and_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A broken compiler is the harness's fault: infra_error after one retry, never compile_error."""
    import sse.scorers.api as api
    import sse.scorers.rustc as rustc

    calls = {"n": 0}
    fake = tmp_path / "rustc"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    fake.chmod(0o755)

    def view(extra: tuple = ()) -> tuple[str, None]:
        calls["n"] += 1
        return str(fake), None

    monkeypatch.setattr(rustc, "compiler_view", view)
    monkeypatch.setattr(api, "toolchain_id", lambda: "rustc fake")
    vs = verify_batch([VerifyRequest(EX, GOOD, GT), VerifyRequest(EX, GOOD + "//2", GT)])
    assert [v.status for v in vs] == ["infra_error", "infra_error"]
    assert all(v.meta.get("retried") for v in vs)
    assert "boom" in vs[0].diagnostics
    assert calls["n"] >= 2


def test_untranslatable_example_is_infra_not_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import sse.scorers.api as api

    monkeypatch.setattr(api, "toolchain_id", lambda: "rustc fake")
    bad = make_example("def f(x: Any) -> int: ...", "f", [((1,), 1)])
    v = verify_batch([VerifyRequest(bad, "pub fn f() {}", GT)])[0]
    assert v.status == "infra_error" and "unsupported annotation" in v.diagnostics


@needs_rustc
def test_identical_requests_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import sse.scorers.api as api

    seen: list[int] = []
    real = api.verify_candidates

    def spy(cands, **kw):  # type: ignore[no-untyped-def]
        seen.append(len(cands))
        return real(cands, **kw)

    monkeypatch.setattr(api, "verify_candidates", spy)
    vs = verify_batch([VerifyRequest(EX, GOOD, GT)] * 3)
    assert seen == [1] and [v.status for v in vs] == ["pass"] * 3 and len({v.key for v in vs}) == 1


@needs_rustc
def test_hangs_and_aborts_do_not_change_neighbours_counts() -> None:
    """Per-test results are the same batched or alone, even next to a hang and an abort."""
    limits = Limits(test_timeout_s=2.0)
    hang = "pub fn add(a: i64, b: i64) -> i64 { if a == 0 { loop { std::hint::spin_loop(); } } a - b }"
    abort = "pub fn add(a: i64, b: i64) -> i64 { if a < 0 { std::process::abort() } a + b }"
    wrong = "pub fn add(a: i64, b: i64) -> i64 { if a == 1 { 0 } else { a + b } }"
    cands = [_cand(s, limits) for s in (GOOD, hang, abort, wrong)]
    batched = verify_candidates(cands, batch=True)
    alone = verify_candidates(cands, batch=False)
    summary = [(v.status, v.tests_passed, tuple(o.status for o in v.tests)) for v in batched]
    assert summary == [(v.status, v.tests_passed, tuple(o.status for o in v.tests)) for v in alone]
    assert summary == [("pass", 3, ("pass", "pass", "pass")),
                       ("timeout", 0, ("fail", "timeout", "fail")),
                       ("crash", 2, ("pass", "pass", "crash")),
                       ("test_failure", 2, ("fail", "pass", "pass"))]
