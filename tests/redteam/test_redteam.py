"""Red team: each hostile candidate of attacks.py is judged in one batch next to honest ones.

Asserted: no hostile candidate passes; every honest verdict (status, counts, per-case outcomes,
diagnostics) is identical to the verdict it gets in a batch without the hostile ones; nothing of
the host reaches a verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from attacks import ATTACKS_F, HONEST_F, HONEST_G, HONEST_H, WRONG_F
from verify_helpers import needs_rustc

from sse.core.records import Example, TestCase
from sse.core.sandbox import LOCK_DIRS, isolation_mode
from sse.scorers import VerifyRequest, verify_batch
from sse.scorers.batch import result_json
from sse.task.config import GroundTruth, Limits

GT = GroundTruth(limits=Limits(test_timeout_s=3.0, memory_mb=512, compile_timeout_s=120))


def _ex(ex_id: str, py: str, entry: str, cases: list[tuple[tuple, object]]) -> Example:
    return Example(id=ex_id, python=py, entry_point=entry, kind="function",
                   tests=tuple(TestCase(args=a, expected=e) for a, e in cases))


F = _ex("f", "def f(x: int) -> int:\n    return x", "f", [((1,), 1), ((2,), 2), ((-7,), -7)])
G = _ex("g", "def g(s: str) -> str:\n    return s.upper()", "g", [(("ab",), "AB"), (("",), ""), (("é",), "É")])
H = _ex("h", "def h(xs: list[float]) -> dict[str, list[float]]:\n    return {'sum': [sum(xs)]}", "h",
        [(([0.1, 0.2],), {"sum": [0.30000000000000004]}), (([],), {"sum": [0.0]})])
HONEST = [(F, HONEST_F), (F, WRONG_F), (G, HONEST_G), (H, HONEST_H), (F, HONEST_F + "// same answer, other system\n")]
HOST_SECRETS = ("root:", "[project]", "requires-python")  # contents of host files


@pytest.fixture(scope="module")
def judged() -> tuple[list, list, dict]:
    honest = [VerifyRequest(e, r, GT) for e, r in HONEST]
    alone = verify_batch(honest)
    names = list(ATTACKS_F)
    hostile = [VerifyRequest(F, ATTACKS_F[n], GT) for n in names]
    # honest ones before, between and after the hostile ones
    mixed_reqs = honest[:2] + hostile[: len(hostile) // 2] + honest[2:] + hostile[len(hostile) // 2:]
    mixed = verify_batch(mixed_reqs)
    by_req = {id(r): v for r, v in zip(mixed_reqs, mixed, strict=True)}
    return alone, [by_req[id(r)] for r in honest], {n: by_req[id(r)] for n, r in zip(names, hostile, strict=True)}


@needs_rustc
def test_honest_verdicts_identical_with_and_without_hostile_neighbours(judged: tuple[list, list, dict]) -> None:
    alone, mixed, _ = judged
    assert [v.status for v in alone] == ["pass", "test_failure", "pass", "pass", "pass"]
    for a, m in zip(alone, mixed, strict=True):
        assert result_json(a) == result_json(m)


@needs_rustc
@pytest.mark.parametrize("name", list(ATTACKS_F))
def test_attack_fails(judged: tuple[list, list, dict], name: str) -> None:
    v = judged[2][name]
    assert v.status not in ("pass", "infra_error"), (name, v.status, v.diagnostics)
    text = v.diagnostics + " ".join(o.message for o in v.tests)
    assert not any(s in text for s in HOST_SECRETS), text


@needs_rustc
def test_attack_specific_reasons(judged: tuple[list, list, dict]) -> None:
    got = judged[2]
    # what the compiler refuses
    for name in ("no_mangle_write", "init_array_constructor", "export_name_main", "allow_unsafe_inside",
                 "trailing_cfg_any", "own_test_and_driver_modules", "call_neighbour_by_path"):
        assert got[name].status == "compile_error", (name, got[name].diagnostics)
    if isolation_mode() in ("bwrap+uid", "bwrap"):
        for name in ("include_bytes_etc_shadow", "path_mod_etc_hostname", "include_str_corpus",
                     "include_guessed_neighbours"):
            assert got[name].status == "compile_error", (name, got[name].diagnostics)
        # the program sees no host folder and no file next to it
        assert got["read_files_next_to_exe"].tests[0].message.endswith("returned -1, expected 1")
    # forged output buys nothing: the cases have no (or a wrong) result
    assert got["forge_libtest_lines_exit0"].tests_passed == 0
    assert got["forge_harness_records"].tests_passed == 0
    assert got["exit_zero_immediately"].tests_passed == 0
    # shadowing inside its own module only breaks itself: the harness still calls it
    assert got["shadow_vec_and_panic_macros"].status == "test_failure"
    # its own harness holds inputs only: reading it gives nothing to return
    assert got["include_harness_file"].status == "test_failure"
    for name, v in sorted(got.items()):
        print(f"{name:36s} {v.status:14s} {v.tests_passed}/{v.tests_total} {v.diagnostics[:90]!r}")


@needs_rustc
def test_unsafe_task_runs_each_candidate_alone() -> None:
    """A task that allows unsafe: the symbol-rewriting candidate compiles, but alone, so its
    `write` cannot touch a neighbour; a constructor that exits only ends its own process."""
    gt = GroundTruth(limits=GT.limits, allow_unsafe=True)
    srcs = [HONEST_F, ATTACKS_F["no_mangle_write"], ATTACKS_F["init_array_constructor"], WRONG_F]
    vs = verify_batch([VerifyRequest(F, s, gt) for s in srcs])
    assert vs[0].status == "pass" and vs[3].status == "test_failure"
    assert vs[1].status != "pass" and vs[2].status not in ("pass", "infra_error"), (vs[1], vs[2])


@pytest.mark.skipif(os.geteuid() != 0, reason="the throw-away uids (and their locks) need root")
def test_uid_locks_live_in_one_place_for_every_tmpdir(tmp_path: Path) -> None:
    code = "import sse.core.sandbox as s; print(s._lock_dir())"
    dirs = set()
    for sub in ("a", "b"):
        d = tmp_path / sub
        d.mkdir()
        env = {**os.environ, "TMPDIR": str(d)}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        dirs.add(out.stdout.strip())
    assert len(dirs) == 1
    assert dirs.pop() in {str(d) for d in LOCK_DIRS}
