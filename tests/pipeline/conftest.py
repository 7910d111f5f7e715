"""A small, real task in a temp folder, with counting fake systems registered in-process."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from counting import CountingJudge

from sse.core.records import Completion
from sse.systems.base import register_kind
from sse.task.spec import Decoding, Prompt, SystemSpec

CALLS: Counter[str] = Counter()  # "system:example:run" -> generations


class CountingAdapter:
    """Instant system: returns the example's reference Rust; counts every generation."""

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec

    def fingerprint(self) -> str:
        return f"counting/{self.spec.options.get('salt', 0)}"

    def is_stochastic(self, decoding: Decoding) -> bool:
        return bool(self.spec.options.get("stochastic", False))

    def unavailable_reason(self) -> str | None:
        return self.spec.options.get("unavailable")

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        out = []
        for p in prompts:
            CALLS[f"{self.spec.name}:{p.example.id}:{p.run}"] += 1
            if self.spec.options.get("interrupt_after") and sum(CALLS.values()) > self.spec.options["interrupt_after"]:
                raise KeyboardInterrupt
            text = f"```rust\n{p.example.rust_reference}\n```" if self.spec.options.get("good", True) else "no code"
            out.append(Completion(system=self.spec.name, example_id=p.example.id, run=p.run, text=text,
                                  tokens_in=len(p.user.split()), tokens_out=len(text.split()), latency_s=0.001,
                                  cpu_s=0.001))
        return out


register_kind("counting")(lambda spec, task: CountingAdapter(spec, task))

EXAMPLES = [
    ("add", "def add(a: int, b: int) -> int:\n    return a + b\n", ["1, 2", "-5, 5", "0, 0"],
     "pub fn add(a: i64, b: i64) -> i64 { a + b }"),
    ("shout", "def shout(s: str) -> str:\n    return s.upper() + '!'\n", ["'hi'", "''", "'Ab'"],
     "pub fn shout(s: &str) -> String { format!(\"{}!\", s.to_uppercase()) }"),
    ("evens", "def evens(xs: list[int]) -> list[int]:\n    return [x for x in xs if x % 2 == 0]\n",
     ["[1, 2, 3, 4]", "[]", "[7]"],
     "pub fn evens(xs: Vec<i64>) -> Vec<i64> { xs.into_iter().filter(|x| x % 2 == 0).collect() }"),
]


def write_corpus(path: Path, examples: list[tuple[str, str, list[str], str]] = EXAMPLES) -> None:
    lines = [json.dumps({"id": i, "entry_point": i, "python": py, "tests": [{"args": a} for a in args], "rust": rs})
             for i, py, args, rs in examples]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp project: tasks/t.yaml, tasks/models.yaml, corpus.jsonl; cache and reports inside."""
    (tmp_path / "tasks").mkdir()
    write_corpus(tmp_path / "corpus.jsonl")
    (tmp_path / "tasks" / "models.yaml").write_text(textwrap.dedent("""\
        systems:
          reference: {kind: reference}
          det: {kind: counting}
          sto: {kind: counting, options: {stochastic: true}}
          bad: {kind: counting, options: {good: false}}
          gone: {kind: counting, options: {unavailable: "tool not installed"}}
        """))
    (tmp_path / "tasks" / "t.yaml").write_text(textwrap.dedent("""\
        task: {id: tiny, corpus: ../corpus.jsonl}
        evaluation: {runs: 3, systems: [reference, det, sto], machine_price_per_hour: 0.1}
        prompts:
          system: "Translate."
          user_template: "{python_code}\\n{rust_signature}"
        ground_truth: {type: compiler}
        analysis: {bootstrap_resamples: 200}
        """))
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    CALLS.clear()
    return tmp_path


@pytest.fixture
def calls() -> Counter[str]:
    return CALLS


@pytest.fixture
def judge() -> CountingJudge:
    """Hand it to `sse.graph.run_doit(..., judge=judge)`; `judge.counts` says what was verified."""
    return CountingJudge()


@pytest.fixture
def corpus_writer() -> Any:
    """(write_corpus, EXAMPLES) for tests that edit the corpus."""
    return write_corpus, EXAMPLES
