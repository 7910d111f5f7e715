"""Program suites as evidence: core vs fidelity from what a test asserts, mutation scores, weak tests,
and differential plus argvs that catch what a weak suite lets through."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sse.scorers.rustc import find_tool
from sse.task.corpus.loader import load_corpus

try:
    find_tool("rustc")
    HAVE_RUSTC = True
except Exception:  # noqa: BLE001 - any failure means: no toolchain here
    HAVE_RUSTC = False


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))


CLASSIFY_SUITE = '''
import subprocess, sys, unittest

def run(*args):
    return subprocess.run([sys.executable, "tool.py", *args], capture_output=True, text=True)

def test_count_in_caps():
    """Checks the error: count; usage: is not what this compares."""
    r = run("scan", "log.txt")
    # usage: error: -- comments never decide
    assert "ERROR: 2" in r.stdout

def test_unasserted_wording_is_core():
    note = "error: this string is never compared"
    r = run("scan", "x")
    assert r.returncode == 0

def test_argparse_error_wording():
    r = run("scan")
    assert "error:" in r.stdout

def test_wording_through_a_name():
    expected = "invalid choice"
    r = run("nope")
    assert expected in r.stdout

def test_stderr():
    r = run("scan", "missing")
    assert r.stderr == ""

def test_help_flag():
    r = run("--help")
    assert r.returncode == 0

def test_usage_case_differs():
    r = run("scan", "x")
    assert "USAGE: 3 files" in r.stdout

class TestUnit(unittest.TestCase):
    def test_assert_in(self):
        r = run("bad")
        self.assertIn("usage:", r.stdout)
'''


def test_core_vs_fidelity_comes_from_what_the_test_asserts(tmp_path: Path) -> None:
    from sse.scorers.programs import classify_suite

    (tmp_path / "test_tool.py").write_text(textwrap.dedent(CLASSIFY_SUITE), encoding="utf-8")
    cats = {k.split("::", 1)[1]: v[0] for k, v in classify_suite(tmp_path, ["test_tool.py"]).items()}
    assert cats == {"test_count_in_caps": "core", "test_unasserted_wording_is_core": "core",
                    "test_argparse_error_wording": "fidelity", "test_wording_through_a_name": "fidelity",
                    "test_stderr": "fidelity", "test_help_flag": "fidelity", "test_usage_case_differs": "core",
                    "TestUnit::test_assert_in": "fidelity"}


def test_plus_argvs_move_numbers_swap_values_and_reuse_choices() -> None:
    from sse.scorers.programs import _mutated_argvs

    seeds = [["add", "2", "3"], ["sub", "5", "3"], ["--mode", "fast", "7"]]
    out = _mutated_argvs(seeds)
    assert out == _mutated_argvs(seeds) and not any(a in seeds for a in out)
    for want in (["add", "3", "3"], ["add", "-2", "3"], ["add", "0", "3"], ["sub", "3", "5"], ["add", "5", "3"],
                 ["sub", "2", "3"], ["--mode", "fast", "-7"]):
        assert want in out, want
    assert not any(a[0] == "fast" for a in out if a[1:] == ["--mode", "7"])  # flags are not moved as values


CALC = '''
import argparse


def main():
    p = argparse.ArgumentParser(description="add or subtract")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("add", "sub"):
        s = sub.add_parser(name, help="the operation")
        s.add_argument("x", type=int)
        s.add_argument("y", type=int)
    a = p.parse_args()
    if a.cmd == "add":
        print(a.x + a.y)
    else:
        print(a.x - a.y)


if __name__ == "__main__":
    main()
'''

CALC_SUITE = '''
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "calc.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_add():
    r = run("add", "2", "3")
    assert r.returncode == 0
    assert r.stdout.strip() == "5"


def test_sub():
    r = run("sub", "5", "3")
    assert r.returncode == 0
    assert "2" in r.stdout


def test_exit_only():
    r = run("add", "1", "1")
    assert r.returncode == 0
'''

RUST = '''
use std::process::exit;

fn num(s: Option<&String>) -> i64 {
    match s.and_then(|v| v.parse().ok()) {
        Some(n) => n,
        None => exit(2),
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let op = a.get(1).map(|s| s.as_str()).unwrap_or("");
    if (op != "add" && op != "sub") || a.len() != 4 {
        exit(2);
    }
    let (x, y) = (num(a.get(2)), num(a.get(3)));
    println!("{}", if op == "add" { x + y } else { SUB });
}
'''


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_RUSTC, reason="rustc not installed")
def test_a_wrong_program_that_passes_the_suite_fails_the_plus_cases(tmp_path: Path) -> None:
    from sse.core.store import Store
    from sse.scorers.api import VerifyRequest
    from sse.scorers.programs import (
        certify,
        generate_program_plus,
        load_program_plus,
        mutation_score,
        plus_path,
        program_judge,
        save_program_plus,
    )
    from sse.task.config import GroundTruth, Limits

    folder = tmp_path / "corpus" / "calc"
    folder.mkdir(parents=True)
    (folder / "calc.py").write_text(CALC, encoding="utf-8")
    (folder / "test_calc.py").write_text(CALC_SUITE, encoding="utf-8")
    ex = load_corpus(str(tmp_path / "corpus")).examples[0]
    with Store() as store:
        cert = certify(ex, store)
        assert sorted(t.split("::")[-1] for t in cert.kept) == ["test_add", "test_sub"]  # exit-only: discounted
        ms = mutation_score(ex, cert, store)
        assert ms.mutants and ms.score is not None and 0 < ms.score < 1
        assert ms.tests == cert.kept and not ms.control_failures
        assert {i["args"][0] for i in ms.invocations} == {"add", "sub"}
        again = mutation_score(ex, cert, store)  # cached by content
        assert again.to_dict() == ms.to_dict()
    doc = generate_program_plus(ex, ms)
    assert doc["argvs"] and "error" not in doc["provenance"]
    save_program_plus(ex, doc)
    assert plus_path(ex).parent.name == "_plus" and load_program_plus(ex) == [a["argv"] for a in doc["argvs"]]
    right, wrong = RUST.replace("SUB", "x - y"), RUST.replace("SUB", "y - x")
    gt = GroundTruth(type="program", limits=Limits(test_timeout_s=5.0))
    v_right, v_wrong = program_judge([VerifyRequest(ex, right, gt), VerifyRequest(ex, wrong, gt)])
    assert v_right.status == "pass" and v_right.meta["plus"]["status"] == "pass", v_right.meta
    # `"2" in stdout` accepts "-2": the suite passes the wrong program, the plus cases do not
    assert v_wrong.status == "pass", v_wrong.diagnostics
    assert v_wrong.meta["plus"]["status"] == "test_failure" and v_wrong.meta["plus"]["passed"] < \
        v_wrong.meta["plus"]["total"]


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_RUSTC, reason="rustc not installed")
def test_bundled_divmod_plus_cases_catch_truncating_division() -> None:
    """Rust's `/` and `%` truncate toward zero; the suite only divides positive numbers, the stored
    plus argvs (sse program-certify --mutants --plus) do not."""
    from sse.scorers.api import VerifyRequest
    from sse.scorers.programs import load_program_plus, program_judge
    from sse.task.config import GroundTruth, Limits

    ex = next(e for e in load_corpus("bundled:programs", check=False).examples if e.id == "example_divmod")
    assert load_program_plus(ex), "stored plus argvs are missing or stale: run sse program-certify --mutants --plus"
    good = (Path(__file__).parent / "solutions" / "example_divmod.rs").read_text(encoding="utf-8")
    bad = good
    for old, new in (("floor_div(x, y), py_mod(x, y)", "x / y, x % y"), ('println!("{}", floor_div(x, y))',
                     'println!("{}", x / y)'), ('println!("{}", py_mod(x, y))', 'println!("{}", x % y)')):
        assert bad.count(old) == 1
        bad = bad.replace(old, new)
    gt = GroundTruth(type="program", limits=Limits(test_timeout_s=10.0))
    v_good, v_bad = program_judge([VerifyRequest(ex, good, gt), VerifyRequest(ex, bad, gt)])
    assert v_good.status == "pass" and v_good.meta["plus"]["status"] == "pass"
    assert v_bad.status == "pass" and v_bad.meta["plus"]["status"] == "test_failure"
