"""The records that cross every seam: Example, Completion, Verdict, Sample, and Results (results.json).

They are plain frozen dataclasses with JSON round-trips so that the store, the
doit targets, samples.jsonl and the report all speak the same vocabulary.
Every record that reaches the report carries the content keys it came from.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

VerdictStatus = Literal["pass", "no_code", "compile_error", "test_failure", "timeout", "crash", "infra_error"]
VERDICT_STATUSES: tuple[str, ...] = (
    "pass",
    "no_code",
    "compile_error",
    "test_failure",
    "timeout",
    "crash",
    "infra_error",
)
CostSource = Literal["provider", "tokens", "machine_time", "unpriced"]
ExampleKind = Literal["function", "program"]


@dataclass(frozen=True)
class TestCase:
    """One call of the entry point. `args` are Python values; `expected` is what
    running the Python returned (or `raises` names the exception it raised)."""

    args: tuple[Any, ...]
    expected: Any = None
    raises: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class Example:
    """One corpus item. For `function` examples the tests are calls of
    `entry_point`; for `program` examples `folder` holds the program and its suite."""

    id: str
    python: str
    entry_point: str
    kind: ExampleKind = "function"
    tests: tuple[TestCase, ...] = ()
    level: int = 3
    level_explicit: bool = False
    rust_reference: str | None = None
    source_path: str = ""
    folder: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """Content key of everything that defines the example (not its path); computed once."""
        k = self.__dict__.get("_key")
        if k is None:
            k = self._compute_key()
            object.__setattr__(self, "_key", k)
        return k

    def _compute_key(self) -> str:
        from sse.core.store import content_key

        return content_key(
            "example",
            self.id,
            self.python,
            self.entry_point,
            self.kind,
            [dataclasses.asdict(t) for t in self.tests],
            self.level,
            self.rust_reference,
            self.meta,
        )


@dataclass(frozen=True)
class Completion:
    """What a system returned for one prompt, with what it cost and how long it took.

    `error` is set when the system itself failed (crashed, timed out, missing
    CLI); such completions are never cached so that a rerun retries them.
    """

    system: str
    example_id: str
    run: int
    text: str
    key: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    cpu_s: float | None = None
    dollars: float | None = None
    cost_source: CostSource = "unpriced"
    error: str | None = None
    error_kind: Literal["timeout", "crash", "skipped", "budget"] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        return cls(**{k: v for k, v in d.items() if k in _fields(cls)})


@dataclass(frozen=True)
class TestOutcome:
    name: str
    status: Literal["pass", "fail", "timeout", "crash", "skipped"]
    message: str = ""

    __test__ = False


@dataclass(frozen=True)
class Verdict:
    """The judgement of one piece of Rust against its tests."""

    status: VerdictStatus
    key: str = ""
    error_codes: tuple[str, ...] = ()
    tests_passed: int = 0
    tests_total: int = 0
    compile_s: float = 0.0
    run_s: float = 0.0
    diagnostics: str = ""
    failing_test: str | None = None
    tests: tuple[TestOutcome, ...] = ()
    isolation: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["error_codes"] = list(self.error_codes)
        d["tests"] = [dataclasses.asdict(t) for t in self.tests]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        d = {k: v for k, v in d.items() if k in _fields(cls)}
        d["error_codes"] = tuple(d.get("error_codes", ()))
        d["tests"] = tuple(TestOutcome(**t) for t in d.get("tests", ()))
        return cls(**d)


@dataclass(frozen=True)
class Sample:
    """One line of samples.jsonl: model x example x run, with the keys behind it."""

    task: str
    system: str
    example_id: str
    run: int
    level: int
    status: VerdictStatus
    completion_key: str
    verdict_key: str
    example_key: str
    rust_key: str
    tests_passed: int
    tests_total: int
    tokens_in: int | None
    tokens_out: int | None
    latency_s: float
    ttft_s: float | None
    cpu_s: float | None
    dollars: float | None
    cost_source: CostSource
    deterministic: bool
    error_codes: tuple[str, ...] = ()
    generation_error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["error_codes"] = list(self.error_codes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        d = {k: v for k, v in d.items() if k in _fields(cls)}
        d["error_codes"] = tuple(d.get("error_codes", ()))
        return cls(**d)


class Results(TypedDict):
    """results.json, what `sse.analysis.analyze` returns and the report renders (docs/report-inputs.md).

    A TypedDict, not a dataclass: the JSON is the record (keys in this order, values already
    JSON-clean: non-finite floats are null), so typing it changes no byte of it."""

    schema: int
    task: dict[str, Any]
    problems: int
    levels_present: list[int]
    level_weights: dict[str, float]
    warnings: list[str]
    excluded: dict[str, int]
    skipped: list[dict[str, str]]
    systems: list[dict[str, Any]]
    baseline: str | None
    baseline_reason: str
    comparisons: list[dict[str, Any]]
    pareto: dict[str, Any]
    value_score_definition: str
    plus: dict[str, Any] | None
    runs_rule: dict[str, Any] | None
    program_suites: dict[str, Any] | None
    manifest: dict[str, Any]


@functools.cache
def _fields(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


# ------------------------------------------------------------------ values
def encode_value(v: Any) -> Any:
    """Python test value -> JSON, keeping tuples, sets, non-str dict keys and inf/nan exact."""
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return {"$float": repr(v)}
        return v
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x) for x in v]}
    if isinstance(v, (set, frozenset)):
        return {"$set": sorted((encode_value(x) for x in v), key=repr)}
    if isinstance(v, dict):
        return {"$dict": [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    raise TypeError(f"cannot encode test value of type {type(v).__name__}")


def decode_value(v: Any) -> Any:
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if isinstance(v, dict):
        if "$tuple" in v:
            return tuple(decode_value(x) for x in v["$tuple"])
        if "$set" in v:
            return {decode_value(x) for x in v["$set"]}
        if "$dict" in v:
            return {decode_value(k): decode_value(x) for k, x in v["$dict"]}
        if "$float" in v:
            return float(v["$float"])
    return v


def example_to_dict(e: Example) -> dict[str, Any]:
    d = dataclasses.asdict(e)
    d["tests"] = [
        {
            "args": encode_value(tuple(t.args)),
            "expected": encode_value(t.expected),
            "raises": t.raises,
            "kwargs": encode_value(dict(t.kwargs)),
        }
        for t in e.tests
    ]
    return d


def example_from_dict(d: dict[str, Any]) -> Example:
    d = {k: v for k, v in d.items() if k in _fields(Example)}
    d["tests"] = tuple(
        TestCase(
            args=tuple(decode_value(t["args"])),
            expected=decode_value(t["expected"]),
            raises=t.get("raises"),
            kwargs=decode_value(t.get("kwargs") or {"$dict": []}),
        )
        for t in d.get("tests", ())
    )
    return Example(**d)
