"""Placeholder: the ground-truth helper replaces this with the real implementation."""

from __future__ import annotations

from dataclasses import dataclass

from sse.config import GroundTruth
from sse.records import Example, Verdict


@dataclass(frozen=True)
class VerifyRequest:
    example: Example
    rust: str | None
    ground_truth: GroundTruth


def rust_signature(example: Example) -> str:
    raise NotImplementedError


def extract_rust(text: str, example: Example) -> str | None:
    raise NotImplementedError


def verdict_key(request: VerifyRequest) -> str:
    raise NotImplementedError


def verify_batch(requests: list[VerifyRequest]) -> list[Verdict]:
    raise NotImplementedError
