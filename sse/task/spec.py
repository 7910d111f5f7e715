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
    stop_policy: str = "none"  # sse.task.prompting.STOP_POLICIES: code_block ends at the answer's closing fence/brace


@dataclass(frozen=True)
class AutoRuns:
    """The rule of `runs: auto` (defaults: at least 3 runs, at most 10, +-3 points); the decision itself
    is `sse.analysis.sequential.decide`. Bad values raise ValueError (the config makes it one line)."""

    min_runs: int = 3
    max_runs: int = 10
    half_width: float | None = 0.03
    paired_half_width: float | None = None
    min_gain: float = 0.0005
    budget_dollars: float | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not 1 <= self.min_runs <= self.max_runs:
            raise ValueError(f"need 1 <= min_runs <= max_runs, got {self.min_runs}, {self.max_runs}")
        if self.half_width is None and self.paired_half_width is None:
            raise ValueError("give half_width or paired_half_width")
        for name in ("half_width", "paired_half_width", "budget_dollars"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        if not self.min_gain >= 0:
            raise ValueError(f"min_gain must be >= 0, got {self.min_gain}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")

    def describe(self) -> str:
        target = (f"paired-difference half-width <= {self.paired_half_width:.3f} against the baseline"
                  if self.paired_half_width is not None else f"half-width <= {self.half_width:.3f}")
        budget = f", budget ${self.budget_dollars:g}" if self.budget_dollars is not None else ""
        return (f"runs: auto ({self.min_runs}-{self.max_runs} runs until the {self.confidence:.0%} problem-level "
                f"{target}, or until no number of runs could reach it{budget}; "
                f"deterministic systems once)")


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
