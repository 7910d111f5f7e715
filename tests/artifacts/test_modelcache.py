"""The JIT model cache: LRU eviction of whole models, the size bound, pins, source release, CLI."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fetch_fakehub import FakeHub

from sse.artifacts.fetch import entry_name, fetch_model, release_sources
from sse.artifacts.modelcache import ModelCache, model_cache_limit, parse_size
from sse.cli import model_commands as commands
from sse.core.errors import ArtifactError, ConfigError
from sse.task.spec import SystemSpec

SIZE = 20_000  # each model's weights; an entry is this plus ~2 KB of manifest and hub bookkeeping


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    h = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.delenv("SSE_OFFLINE", raising=False)
    for i, name in enumerate("abcde"):
        h.add_repo(f"org/{name}", {"model.safetensors": bytes([i + 1]) * SIZE, "config.json": b"{}"})
    yield h
    h.stop()


def spec(name: str) -> SystemSpec:
    return SystemSpec(name=name, kind="native", source={"hf": f"org/{name}", "revision": "main"})


def cached_names(cache_dir: Path) -> list[str]:
    return sorted(i.name for i in ModelCache(cache_dir).entries())


def test_lru_evicts_least_recently_used_whole_models(hub: FakeHub, tmp_path: Path) -> None:
    limit = 2 * SIZE + 10_000  # two models fit, three do not
    for n in ("a", "b"):
        fetch_model(spec(n), cache_dir=tmp_path, limit_bytes=limit)
    fetch_model(spec("a"), cache_dir=tmp_path, limit_bytes=limit)  # a used again: b is now least recent
    r = fetch_model(spec("c"), cache_dir=tmp_path, limit_bytes=limit)
    assert r.evicted == [entry_name(spec("b"))]
    assert cached_names(tmp_path) == ["a", "c"]
    cache = ModelCache(tmp_path, limit_bytes=limit)
    assert SIZE * 2 <= cache.total_bytes() <= limit
    # whole models go: nothing of b is left on disk
    assert not cache.entry_dir(entry_name(spec("b"))).exists()
    # a pinned model is kept even when it is the least recent; the next one goes instead
    with cache.pin(entry_name(spec("a"))):
        r = fetch_model(spec("d"), cache_dir=tmp_path, limit_bytes=limit)
    assert r.evicted == [entry_name(spec("c"))]
    assert cached_names(tmp_path) == ["a", "d"]
    # an evicted model is simply fetched again
    gets_before = hub.gets("org/b", "model.safetensors")
    assert fetch_model(spec("b"), cache_dir=tmp_path, limit_bytes=limit).downloaded
    assert hub.gets("org/b", "model.safetensors") == gets_before + 1
    assert cached_names(tmp_path) == ["b", "d"]  # a was the least recent now


def test_size_bound_from_environment(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_MODEL_CACHE_BYTES", "45KB")
    assert model_cache_limit() == 45_000
    for n in "abcde":
        fetch_model(spec(n), cache_dir=tmp_path)
        assert ModelCache(tmp_path).total_bytes() <= 45_000
    assert cached_names(tmp_path) == ["d", "e"]
    monkeypatch.setenv("SSE_MODEL_CACHE_BYTES", "lots")
    with pytest.raises(ConfigError, match="SSE_MODEL_CACHE_BYTES"):
        model_cache_limit()


def test_default_bound_and_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSE_MODEL_CACHE_BYTES", raising=False)
    assert model_cache_limit() == parse_size("10GB") == 10 * 1000**3
    assert model_cache_limit(123) == 123
    assert parse_size("1.5GiB") == int(1.5 * 1024**3) and parse_size("1234") == 1234


def test_pins_of_dead_processes_do_not_block_eviction(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path, limit_bytes=1)
    d = cache.entry_dir("m--0")
    d.mkdir(parents=True)
    (d / "blob").write_bytes(b"x" * 100)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (tmp_path / "pins" / "m--0").mkdir(parents=True)
    (tmp_path / "pins" / "m--0" / f"{dead}.abcd").write_text("")
    assert not cache.is_pinned("m--0")
    assert cache.enforce_limit() == ["m--0"]


def test_evict_refuses_a_model_in_use(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    cache.entry_dir("m--1").mkdir(parents=True)
    with cache.pin("m--1"):
        assert cache.is_pinned("m--1")
        with pytest.raises(ArtifactError, match="in use"):
            cache.evict("m--1")
    assert cache.evict("m--1") == 0 and cache.entry_names() == []


def test_release_sources_keeps_manifest_and_refetches(hub: FakeHub, tmp_path: Path) -> None:
    r = fetch_model(spec("a"), cache_dir=tmp_path)
    freed = release_sources(spec("a"), cache_dir=tmp_path)
    assert freed >= SIZE
    info = ModelCache(tmp_path).info(r.entry)
    assert info.sources_released and not info.complete and info.size < 5_000
    assert info.manifest and info.manifest["files"]["model.safetensors"]["sha256"]
    again = fetch_model(spec("a"), cache_dir=tmp_path)
    assert again.downloaded and again.file("model.safetensors").stat().st_size == SIZE


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sse")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_list_fetch_pin_validate_evict(hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = tmp_path / "models.yaml"
    reg.write_text("systems:\n"
                   "  a:\n    kind: native\n    source: {hf: org/a, revision: main, files: ['*.safetensors']}\n"
                   "  b:\n    kind: native\n    source: {hf: org/b, revision: main}\n"
                   "  reference:\n    kind: reference\n")
    common = ["--registry", str(reg), "--cache-dir", str(tmp_path / "c")]
    assert _run_cli(["models", "fetch", "a", *common]) == 0
    out = capsys.readouterr().out
    assert "a: downloaded" in out and "model.safetensors" in out and "hub-lfs-sha256" in out
    assert _run_cli(["models", "pin", "a", *common]) == 0
    want = hashlib.sha256(bytes([1]) * SIZE).hexdigest()
    assert f"sha256:\n  model.safetensors: {want}\n" in capsys.readouterr().out
    assert _run_cli(["models", "list", *common]) == 0
    out = capsys.readouterr().out
    assert "org/a@" in out and "ready" in out and "not cached (sse models fetch b)" in out
    assert "reference" not in out  # no fetchable source
    assert _run_cli(["models", "validate", "a", *common]) == 0
    assert "ok  model.safetensors" in capsys.readouterr().out
    # corrupt the cached file behind sse's back: validate notices
    path = next((tmp_path / "c").rglob("blobs/*"))
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    assert _run_cli(["models", "validate", "a", *common]) == 1
    assert "BAD model.safetensors" in capsys.readouterr().out
    assert _run_cli(["models", "evict", "a", *common]) == 0
    assert "evicted a" in capsys.readouterr().out
    with pytest.raises(ArtifactError, match="not in the model cache"):
        _run_cli(["models", "evict", "a", *common])
    with pytest.raises(ConfigError, match="unknown model 'zzz'"):
        _run_cli(["models", "fetch", "zzz", *common])
