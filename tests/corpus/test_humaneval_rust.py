"""Hand-written Rust for HumanEval problems passes the translated tests; a mutant of each fails.

This is the evidence that the imported tests both accept a correct translation and
discriminate: tests/data/humaneval_rust/<id>.rs and <id>.mutant.rs, judged by the real
ground truth (sse.scorers.verify_batch: one rustc for all of them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sse.core.records import Example
from sse.task.config import GroundTruth

RUST_DIR = Path(__file__).resolve().parents[1] / "data" / "humaneval_rust"
MIN_SOLVED = 20

pytestmark = pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc not installed")


@pytest.fixture(scope="module")
def examples() -> dict[str, Example]:
    from sse.task.corpus import load_corpus

    return {e.id: e for e in load_corpus("bundled:humaneval").examples}


def _pairs() -> list[tuple[str, Path, Path]]:
    out = []
    for sol in sorted(RUST_DIR.glob("he_*.rs")):
        if sol.name.endswith(".mutant.rs"):
            continue
        ex_id = sol.name[: -len(".rs")]
        out.append((ex_id, sol, RUST_DIR / f"{ex_id}.mutant.rs"))
    return out


def test_enough_solutions_each_with_a_mutant() -> None:
    pairs = _pairs()
    assert len(pairs) >= MIN_SOLVED
    missing = [m.name for _, _, m in pairs if not m.exists()]
    assert not missing, f"solutions without a mutant: {missing}"


def test_solutions_pass_and_mutants_fail(examples: dict[str, Example], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from sse.scorers import VerifyRequest, verify_batch

    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    pairs = _pairs()
    gt = GroundTruth()
    reqs = []
    for ex_id, sol, mut in pairs:
        assert ex_id in examples, f"{sol.name}: no example {ex_id} in the bundled HumanEval corpus"
        reqs.append(VerifyRequest(examples[ex_id], sol.read_text(), gt))
        reqs.append(VerifyRequest(examples[ex_id], mut.read_text(), gt))
    verdicts = verify_batch(reqs)
    bad = []
    for i, (ex_id, _, _) in enumerate(pairs):
        good, mutant = verdicts[2 * i], verdicts[2 * i + 1]
        if good.status != "pass":
            bad.append(f"{ex_id}: solution {good.status} {good.diagnostics[:200]}")
        if mutant.status != "test_failure":
            bad.append(f"{ex_id}: mutant {mutant.status} (a mutant must compile and fail a test)")
    assert not bad, "\n".join(bad)
