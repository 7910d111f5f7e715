"""Content keys and the store: stable keys, bounded size with LRU eviction, atomic files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sse.core.store import Store, atomic_write_text, content_key


def test_content_key_is_canonical_and_sensitive() -> None:
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key({1, 2, 3}) == content_key({3, 2, 1})
    assert content_key("x", 1) != content_key("x", 2) != content_key("x", "1")
    assert len(content_key("x")) == 32


def test_store_round_trip_and_delete(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as st:
        st.put("completion", "k1", {"text": "fn x() {}", "n": [1, 2]})
        assert st.get("completion", "k1") == {"text": "fn x() {}", "n": [1, 2]}
        assert st.get("verdict", "k1") is None
        assert st.keys("completion") == ["k1"]
        assert st.delete("completion", "k1") and st.get("completion", "k1") is None


def test_store_is_bounded_and_evicts_least_recently_used(tmp_path: Path) -> None:
    blob = "x" * 20_000
    with Store(tmp_path / "s", size_limit=200_000) as st:
        for i in range(5):
            st.put("c", f"old{i}", blob)
        assert st.get("c", "old0") is not None  # touched: now the most recently used
        for i in range(30):
            st.put("c", f"new{i}", blob)
        assert st.volume() <= 200_000 + 120_000  # diskcache culls in steps; the bound holds within one cull
        assert st.get("c", "old1") is None  # evicted: least recently used
        assert st.get("c", "new29") is not None


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "out.json"
    atomic_write_text(p, "old")

    def boom(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(p, "new" * 1000)
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]  # no temp file left behind
