"""Rust ground truth. The seam used by the pipeline and the CLI:

- `rust_signature(example) -> str`: the Rust signature shown to models.
- `extract_rust(text, example) -> str | None`: the Rust in a completion, None = no code.
- `VerifyRequest(example, rust, ground_truth)` and `verify_batch(requests) -> list[Verdict]`
  (same order; identical requests are judged once).
- `verdict_key(request) -> str`: hashes the Rust, the test code, the toolchain, the limits,
  the allowed crates and the isolation in force.
"""

from __future__ import annotations

from sse.verify.api import VerifyRequest, extract_rust, rust_signature, verdict_key, verify_batch

__all__ = ["VerifyRequest", "extract_rust", "rust_signature", "verdict_key", "verify_batch"]
