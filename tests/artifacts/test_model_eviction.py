"""Converted models count against the cache's one bound (SSE_CACHE_BYTES) with everything else in
the cache folder, are evicted least-recently-used but never while a running evaluation holds them,
and come back on demand (re-converted from their sources). Conversions are counted, not timed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sse.artifacts import stages
from sse.artifacts.modelcache import ModelCache
from sse.artifacts.stages import ensure_apr
from sse.artifacts.tiny import make_tiny_llama
from sse.core.records import Example
from sse.systems.base import build_adapter
from sse.task.spec import Decoding, Prompt, SystemSpec


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    return {name: make_tiny_llama(root / name, seed=seed) for name, seed in (("a", 1), ("b", 2))}


@pytest.fixture
def converted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """A fresh cache folder under the shared bound; counts conversions per model."""
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("SSE_MODEL_CACHE_DIR", "SSE_MODEL_CACHE_BYTES", "SSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SSE_CACHE_BYTES", str(10**9))
    counts: Counter[str] = Counter()
    real = stages.convert_stage

    def counting(spec: SystemSpec, files: list[Path], out: Path) -> dict[str, Any]:
        counts[spec.name] += 1
        return real(spec, files, out)

    monkeypatch.setattr(stages, "convert_stage", counting)
    return counts


def _spec(name: str, sources: dict[str, Path]) -> SystemSpec:
    return SystemSpec(
        name=name,
        kind="native",
        source={"path": str(sources[name])},
        options={"quantization": "f32", "batch_size": 1},
    )


def _used(cache: ModelCache) -> int:
    return cache.total_bytes() + cache.other_bytes()


def test_models_are_evicted_lru_within_the_one_bound_and_come_back(
    sources: dict[str, Path], converted: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _spec("a", sources), _spec("b", sources)
    apr_a = ensure_apr(a)
    one_model = _used(ModelCache())
    assert ModelCache().shared and ModelCache().other_bytes() >= 0  # the rest of the folder counts too
    bound = int(1.5 * one_model)  # one model fits, two do not
    monkeypatch.setenv("SSE_CACHE_BYTES", str(bound))
    apr_b = ensure_apr(b)
    assert apr_b.exists() and not apr_a.exists()  # a was the least recently used
    assert not stages.validated_path(a).exists() and stages.sources_list_path(a).exists()
    assert _used(ModelCache()) <= bound
    assert ensure_apr(a) == apr_a and apr_a.exists() and not apr_b.exists()  # re-converted on demand
    assert converted == Counter({"a": 2, "b": 1})
    assert ensure_apr(a) == apr_a and converted["a"] == 2  # a cached model is not converted again


def test_a_model_in_use_by_a_running_evaluation_is_never_evicted(
    sources: dict[str, Path], converted: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _spec("a", sources), _spec("b", sources)
    adapter = build_adapter(a, None)
    assert adapter.unavailable_reason() is None  # converts a and holds it for this process
    apr_a = stages.apr_path(a, stages.cache_root())
    monkeypatch.setenv("SSE_CACHE_BYTES", str(int(1.5 * _used(ModelCache()))))
    ensure_apr(b)  # over the bound, but a is held: it stays (the next call catches up)
    assert apr_a.exists() and stages.apr_path(b, stages.cache_root()).exists()
    ex = Example(id="e", python="def f(): pass", entry_point="f")
    (c,) = adapter.generate(
        [Prompt(system="S", user="U", example=ex, run=0, decoding=Decoding(max_tokens=3))]
    )
    assert c.error is None
    assert converted == Counter({"a": 1, "b": 1})
