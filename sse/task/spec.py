"""What a task says about systems and prompts: decoding, prices, registry entries, rendered prompts.

These are plain values shared by the task config (which builds them), the systems (which
consume them) and the run layer; they live here, below both, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sse.core.records import Example


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; part of every generation key."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    timeout_s: float = 120.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    stop_policy: str = "none"  # sse.prompting.STOP_POLICIES: code_block ends at the answer's closing fence/brace


@dataclass(frozen=True)
class Prices:
    """A dated price for a system. Per-million-token prices, in USD."""

    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    date: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class SystemSpec:
    """One entry of the model registry (tasks/models.yaml)."""

    name: str
    kind: str
    version: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    prices: Prices = field(default_factory=Prices)
    options: dict[str, Any] = field(default_factory=dict)
    registry_file: str = ""


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt for one example and run."""

    system: str
    user: str
    example: Example
    run: int
    decoding: Decoding
