"""An edit re-derives only the edited corpus records and rewrites only the shards holding the
edited example (counted, not timed)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sse.graph import run_doit
from sse.run import generate
from sse.run.context import Plan
from sse.task.corpus import loader

PLAN = Plan(task_glob="tasks/t.yaml", output="reports")


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Example ids parsed from their source text; one example per shard, so shards can be told apart."""
    counts: Counter[str] = Counter()
    real = loader._parse_record

    def counting(d: Any, *a: Any) -> Any:
        counts[d.get("id", "?") if isinstance(d, dict) else "?"] += 1
        return real(d, *a)

    monkeypatch.setattr(loader, "_parse_record", counting)
    monkeypatch.setattr(generate, "SHARD", 1)
    return counts


def _edit_shout(project: Path, corpus_writer: Any) -> None:
    write_corpus, examples = corpus_writer
    write_corpus(
        project / "corpus.jsonl",
        [
            (i, py.replace("+ '!'", "+ '!!'"), a, rs.replace('"{}!"', '"{}!!"'))
            if i == "shout"
            else (i, py, a, rs)
            for i, py, a, rs in examples
        ],
    )


def _stamps(project: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (project / "cache" / "build").rglob("*.d/*.json")}


def test_an_edit_rederives_one_record_and_touches_only_its_shards(
    project: Path, parsed: Counter[str], corpus_writer: Any
) -> None:
    assert run_doit(["verify"], PLAN) == 0
    assert parsed == Counter({"add": 1, "shout": 1, "evens": 1})
    before = _stamps(project)
    parsed.clear()
    _edit_shout(project, corpus_writer)
    assert run_doit(["verify"], PLAN) == 0
    assert parsed == Counter({"shout": 1})  # the other records keep their rows
    after = _stamps(project)
    touched = {p for p in after if before.get(p) != after[p]}
    holders = set()
    for p in touched:  # every new or rewritten shard holds the edited example, and only it
        holders |= {e["example_id"] for e in json.loads(p.read_bytes())}
    assert touched and holders == {"shout"}
    assert len(touched) == 2 * 3 * 3  # one generate and one verify shard per system and run


def test_reused_rows_equal_a_full_derivation(
    project: Path, parsed: Counter[str], corpus_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_doit(["corpus"], PLAN) == 0
    _edit_shout(project, corpus_writer)
    assert run_doit(["corpus"], PLAN) == 0
    incremental = json.loads((project / "cache/build/tiny/examples.json").read_bytes())
    shutil.rmtree(project / "cache" / "build")
    monkeypatch.setenv("SSE_CACHE_DIR", str(project / "fresh-cache"))
    assert run_doit(["corpus"], PLAN) == 0
    assert json.loads((project / "fresh-cache/build/tiny/examples.json").read_bytes()) == incremental
