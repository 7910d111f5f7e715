"""Program tasks: binaries built with rustc (or cargo offline) and run in the sandbox; the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from verify_helpers import needs_rustc

from sse.cli import verify_commands as commands
from sse.core.errors import VerifyError
from sse.core.sandbox import SandboxLimits
from sse.scorers.program import DEBIAN_REGISTRY, build_program, registry_versions, run_program

UPPER = """use std::io::Read;
fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    print!("{}|{}", args.join(","), s.to_uppercase());
    if args.iter().any(|a| a == "fail") { std::process::exit(3); }
}
"""


@needs_rustc
def test_build_and_run_program() -> None:
    b = build_program(UPPER)
    try:
        assert b.ok and b.binary is not None and b.tool == "rustc"
        r = run_program(b.binary, ["a", "b"], stdin=b"hello")
        assert r.returncode == 0 and r.stdout == b"a,b|HELLO"  # type: ignore[attr-defined]
        r = run_program(b.binary, ["fail"], stdin=b"", limits=SandboxLimits(wall_s=5))
        assert r.returncode == 3  # type: ignore[attr-defined]
    finally:
        b.cleanup()
    assert not b.workdir.exists()


@needs_rustc
def test_program_compile_error_has_codes() -> None:
    b = build_program("fn main() { let x: i64 = \"s\"; }")
    try:
        v = b.verdict_if_failed()
        assert v is not None and v.status == "compile_error" and "E0308" in v.error_codes
    finally:
        b.cleanup()


def test_crate_outside_registry_is_refused() -> None:
    with pytest.raises(VerifyError, match="offline registry"):
        build_program("fn main() {}", ("definitely_not_a_crate_xyz",))


@pytest.mark.slow
@needs_rustc
@pytest.mark.skipif("serde_json" not in registry_versions(), reason=f"serde_json not in {DEBIAN_REGISTRY}")
def test_cargo_offline_with_allowed_crate() -> None:
    src = 'fn main() { let v: serde_json::Value = serde_json::from_str("[1,2]").unwrap(); println!("{}", v[1]); }'
    b = build_program(src, ("serde_json",), timeout_s=600)
    try:
        assert b.ok, b.excerpt or b.infra_error
        assert b.tool == "cargo"
        assert run_program(b.binary, []).stdout.strip() == b"2"  # type: ignore[arg-type, attr-defined]
    finally:
        b.cleanup()
    # A crate that is not allowed is a compile error, not a download.
    b = build_program("use regex::Regex;\nfn main() {}", ("serde_json",), timeout_s=600)
    try:
        assert not b.ok and b.verdict_if_failed().status == "compile_error"  # type: ignore[union-attr]
    finally:
        b.cleanup()


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    p = argparse.ArgumentParser()
    commands.register(p.add_subparsers())
    args = p.parse_args(["verify", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out


@needs_rustc
def test_cli_json_and_tests_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "x.rs"
    src.write_text("pub fn add(a: i64, b: i64) -> i64 { a + b }\n")
    tests = tmp_path / "t.rs"
    tests.write_text("#[test]\nfn adds() { assert_eq!(add(2, 3), 5); }\n#[test]\nfn wrong() { assert_eq!(add(1, 1), 3); }\n")
    code, out = _cli(["--source", str(src), "--tests", str(tests), "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["status"] == "test_failure" and d["tests_passed"] == 1 and d["tests_total"] == 2
    empty = tmp_path / "empty.rs"
    empty.write_text(" \n\n")
    code, out = _cli(["--source", str(empty), "--json"], capsys)
    assert json.loads(out)["status"] == "no_code" and code == 1
    prog = tmp_path / "p.rs"
    prog.write_text('fn main() { println!("hi"); }\n')
    code, out = _cli(["--source", str(prog), "--program"], capsys)
    assert code == 0 and out.startswith("pass")


def test_cli_missing_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(VerifyError) as e:
        _cli(["--source", str(tmp_path / "nope.rs")], capsys)
    assert "nope.rs" in str(e.value) and "--source" in str(e.value)
