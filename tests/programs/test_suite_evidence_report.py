"""The report inputs read the program suites' stored mutation scores and plus sets, never rerun them."""

from __future__ import annotations

from pathlib import Path

from sse.core.store import Store
from sse.scorers.programs import (
    CERT_NS,
    MAX_PROGRAM_MUTANTS,
    MUTATION_NS,
    Certification,
    MutationScore,
    certification_key,
    mutation_key,
    plus_key,
    save_program_plus,
    stored_suite_evidence,
)
from sse.task.corpus.loader import load_corpus


def test_stored_scores_and_plus_sets_are_summed_missing_ones_are_listed(tmp_path: Path) -> None:
    import shutil

    src = load_corpus("bundled:programs", check=False)
    root = tmp_path / "programs"
    for e in src.examples[:2]:
        shutil.copytree(str(e.folder), root / Path(str(e.folder)).name)
    exs = load_corpus(str(root), check=False).examples
    measured, missing = exs[0], exs[1]
    with Store(tmp_path / "store") as store:
        cert = Certification(
            measured.id, certification_key(measured), {"t1": {"status": "kept"}, "t2": {"status": "kept"}}
        )
        store.put(CERT_NS, cert.key, cert.to_dict())
        ms = MutationScore(
            measured.id,
            mutation_key(measured, cert, MAX_PROGRAM_MUTANTS),
            [
                {"id": "m1", "description": "", "killed_by": ["t1"]},
                {"id": "m2", "description": "", "killed_by": []},
            ],
            ["t1", "t2"],
            [],
            [],
        )
        store.put(MUTATION_NS, ms.key, ms.to_dict())
        save_program_plus(
            measured,
            {
                "key": plus_key(measured),
                "provenance": {"killed_by_plus_not_suite": ["m2"]},
                "argvs": [{"argv": ["1"]}, {"argv": ["2"]}],
            },
        )
        out = stored_suite_evidence(exs, store)
    assert (out["examples"], out["measured"], out["mutants"], out["killed"]) == (2, 1, 2, 1)
    assert out["score"] == 0.5 and out["weak_tests"] == 1 and out["scored_tests"] == 2
    assert (out["with_plus"], out["plus_argvs"], out["killed_by_plus_not_suite"]) == (1, 2, 1)
    rows = {r["example"]: r for r in out["per_example"]}
    assert rows[measured.id]["weak_tests"] == ["t2"] and rows[missing.id] == {
        "example": missing.id,
        "measured": False,
    }
