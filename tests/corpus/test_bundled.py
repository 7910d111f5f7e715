"""The bundled function corpus: size, spread, tests that discriminate, references that pass."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from sse.core.store import Store
from sse.task.corpus import bundled_corpus_path, load_corpus
from sse.task.corpus.classify import classify

REPRO = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "reprorusted-cli"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # module scope runs before the per-test cache fixture: give it its own store
    with Store(tmp_path_factory.mktemp("store")) as st:
        return load_corpus("bundled:functions", store=st)


def test_bundled_path_and_unknown_name() -> None:
    assert bundled_corpus_path("functions").is_dir()
    with pytest.raises(KeyError) as ei:
        bundled_corpus_path("nope")
    assert "functions" in ei.value.args[0]


def test_size_and_level_spread(corpus) -> None:  # type: ignore[no-untyped-def]
    ours = [e for e in corpus.examples if not e.id.startswith("b_")]
    assert len(ours) >= 55
    levels = Counter(e.level for e in ours)
    assert set(levels) == {1, 2, 3, 4, 5} and min(levels.values()) >= 10


def test_every_example_is_complete(corpus) -> None:  # type: ignore[no-untyped-def]
    for e in corpus.examples:
        assert len(e.tests) >= 3, e.id
        assert e.rust_reference and f"fn {e.entry_point}(" in e.rust_reference, e.id
        fn = next(n for n in ast.parse(e.python).body if isinstance(n, ast.FunctionDef) and n.name == e.entry_point)
        assert fn.returns is not None and all(a.annotation is not None for a in fn.args.args), e.id


def test_tests_discriminate(corpus) -> None:  # type: ignore[no-untyped-def]
    """No example whose tests all expect the same value: a constant function would pass them."""
    for e in corpus.examples:
        outcomes = {repr(t.expected) if t.raises is None else f"raises {t.raises}" for t in e.tests}
        assert len(outcomes) >= 2, e.id


def test_classifier_agrees_with_unstated_levels(corpus) -> None:  # type: ignore[no-untyped-def]
    for e in corpus.examples:
        if not e.level_explicit:
            assert e.level == classify(e.python).level


@pytest.mark.skipif(not REPRO.is_dir(), reason="shared program corpus not present")
def test_program_corpus_loads() -> None:
    c = load_corpus(str(REPRO))
    assert c.kind == "program" and len(c.examples) >= 50
    assert all(e.meta["test_count"] >= 1 and e.folder for e in c.examples)
    assert all(Path(e.source_path).name == e.entry_point for e in c.examples)
