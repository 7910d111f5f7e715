"""`sse verify`: judge one Rust file from the command line, with the same machinery as the pipeline."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from sse.core.errors import VerifyError
from sse.core.records import Verdict
from sse.task.config import GroundTruth, Limits

TEST_FN_RE = re.compile(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn\s+([A-Za-z_][A-Za-z0-9_]*)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify", help="compile and test one Rust file in the sandbox; print the verdict",
        description="Judge a Rust source: with --tests (a file of #[test] fns, which see the source's items), "
                    "with --example ID (the generated tests of a corpus example), or --program (build and run "
                    "main once with empty stdin). Without any of them it only has to compile.")
    p.add_argument("--source", required=True, help="the Rust file (or a completion text with ``` fences)")
    p.add_argument("--tests", help="a Rust file of #[test] functions run against the source")
    p.add_argument("--example", help="an example id; its generated tests are used (needs --corpus)")
    p.add_argument("--corpus", default="bundled:functions", help="corpus holding --example")
    p.add_argument("--program", action="store_true", help="a program: build a binary, run it once")
    p.add_argument("--crates", default="", help="comma-separated crates allowed for --program (offline registry)")
    p.add_argument("--timeout", type=float, default=10.0, help="test time limit in seconds")
    p.add_argument("--json", action="store_true", help="print the verdict record as one JSON object")
    p.set_defaults(func=handle)


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise VerifyError(f"cannot read: {e.strerror}", file=path, field=what, fix="give an existing UTF-8 file") from None
    except UnicodeDecodeError:
        raise VerifyError("not UTF-8 text", file=path, field=what, fix="give a UTF-8 Rust file") from None


def judge(source: str, *, tests: str | None = None, example_id: str | None = None, corpus: str = "bundled:functions",
          program: bool = False, crates: tuple[str, ...] = (), timeout_s: float = 10.0) -> Verdict:
    """What `sse verify` prints, as a function (also used by tests)."""
    from sse.core.sandbox import isolation_mode
    from sse.scorers.api import VerifyRequest, extract_rust, verify_batch
    from sse.scorers.batch import verify_candidates

    limits = Limits(test_timeout_s=timeout_s)
    rust = extract_rust(source) if "```" in source else (source if source.strip() else None)
    if rust is None:
        return Verdict("no_code", diagnostics="the source is empty", isolation=isolation_mode())
    if example_id:
        from sse.task.corpus import load_corpus

        ex = next((e for e in load_corpus(corpus).examples if e.id == example_id), None)
        if ex is None:
            raise VerifyError(f"no example {example_id!r}", field="--example", fix=f"use an id of {corpus}")
        req = VerifyRequest(ex, rust, GroundTruth(limits=limits, crates=crates))
        return verify_batch([req])[0]
    if program:
        return _judge_program(rust, crates, limits)
    if tests is not None:
        names = TEST_FN_RE.findall(tests)
        if not names:
            raise VerifyError("no #[test] functions found", field="--tests", fix="add #[test] fn ... to the file")
    else:
        names = []
    v = verify_candidates([_user_tests_candidate(rust, tests or "", names, limits)])[0]
    return Verdict(**{**v.__dict__, "isolation": isolation_mode()})


def _user_tests_candidate(rust: str, tests: str, names: list[str], limits: Limits) -> Any:
    """Each `#[test] fn` of the file becomes a case of the harness (it passes when it returns,
    fails when it panics), so the source is judged exactly like a model's answer."""
    from sse.core.values import NONE
    from sse.scorers.batch import Candidate
    from sse.task.translate import Expectation

    body = TEST_FN_RE.sub(lambda m: f"pub(crate) fn {m.group(1)}", tests)
    text = f"{rust}\n#[allow(unused_imports, dead_code)]\nmod sse_user_tests {{\n    use super::*;\n{body}\n}}\n"
    calls = "\n".join(f"    r.case({i}usize, move || {{ super::sse_user_tests::{n}(); "
                      f"crate::sse_rt::Out::value(&()) }});" for i, n in enumerate(names))
    driver = f"pub(crate) fn run(r: &mut crate::sse_rt::Runner) {{\n{calls}\n}}\n"
    exp = tuple(Expectation(n, n, NONE, False) for n in names)
    return Candidate(text, driver, exp, limits)


def _judge_program(rust: str, crates: tuple[str, ...], limits: Limits) -> Verdict:
    from sse.core.sandbox import SandboxLimits, isolation_mode, run_sandboxed
    from sse.scorers.program import build_program

    b = build_program(rust, crates, timeout_s=limits.compile_timeout_s)
    try:
        failed = b.verdict_if_failed()
        if failed is not None:
            return Verdict(**{**failed.__dict__, "isolation": isolation_mode()})
        assert b.binary is not None
        r = run_sandboxed([str(b.binary)], stdin=b"", limits=SandboxLimits(
            wall_s=limits.test_timeout_s, memory_mb=limits.memory_mb, max_output_bytes=limits.max_output_bytes))
        out = (r.stdout + r.stderr).decode("utf-8", "replace")[-800:]
        if r.error:
            status = "infra_error"
        elif r.timed_out:
            status = "timeout"
        elif r.signal or r.output_capped:
            status = "crash"
        elif r.returncode != 0:
            status = "test_failure"
        else:
            status = "pass"
        return Verdict(status, tests_passed=int(status == "pass"), tests_total=1, compile_s=b.compile_s,
                       run_s=r.wall_s, diagnostics=out, isolation=r.isolation, meta={"exit_code": r.returncode})
    finally:
        b.cleanup()


def handle(args: argparse.Namespace) -> int:
    source = _read(args.source, "--source")
    tests = _read(args.tests, "--tests") if args.tests else None
    crates = tuple(c.strip() for c in args.crates.split(",") if c.strip())
    v = judge(source, tests=tests, example_id=args.example, corpus=args.corpus, program=args.program,
              crates=crates, timeout_s=args.timeout)
    if args.json:
        d = v.to_dict()
        sys.stdout.write(json.dumps(d, ensure_ascii=False) + "\n")
    else:
        codes = f" [{', '.join(v.error_codes)}]" if v.error_codes else ""
        print(f"{v.status}{codes}  tests {v.tests_passed}/{v.tests_total}  compile {v.compile_s:.2f}s  "
              f"run {v.run_s:.2f}s  isolation {v.isolation}")
        if v.diagnostics and v.status != "pass":
            print(v.diagnostics)
    return 0 if v.status == "pass" else 1
