"""Rust ground truth. The seam used by the pipeline and the CLI:

- `rust_signature(example) -> str`: the Rust signature shown to models.
- `extract_rust(text, example) -> str | None`: the Rust in a completion, None = no code.
- `VerifyRequest(example, rust, ground_truth)` and `verify_batch(requests) -> list[Verdict]`
  (same order; identical requests are judged once).
- `verdict_key(request) -> str`: hashes the Rust, the test code, the toolchain, the limits,
  the allowed crates and the isolation in force.

For program tasks: `build_program` / `run_program` (sse.scorers.program), `run_sandboxed`
(sse.core.sandbox). Scorers are keyed by ground-truth type (sse.scorers.registry:
`register_scorer`, `scorer_for`; other packages add types with the `sse.scorers` entry point).
Soundness: sse.scorers.mutants.
See docs/ground-truth.md.
"""

from __future__ import annotations

from sse.core.sandbox import SandboxLimits, SandboxResult, isolation_mode, run_sandboxed
from sse.scorers.api import (
    VerifyRequest,
    extract_rust,
    rust_signature,
    test_code,
    verdict_key,
    verify_batch,
)
from sse.scorers.program import BuildResult, build_program, run_program
from sse.scorers.registry import register_scorer, scorer_for

__all__ = [
    "BuildResult",
    "SandboxLimits",
    "SandboxResult",
    "VerifyRequest",
    "build_program",
    "extract_rust",
    "isolation_mode",
    "register_scorer",
    "scorer_for",
    "run_program",
    "run_sandboxed",
    "rust_signature",
    "test_code",
    "verdict_key",
    "verify_batch",
]
