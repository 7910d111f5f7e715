"""Hub sources, driven through the real huggingface_hub client against a local fake hub."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fetch_fakehub import FakeHub

from sse.artifacts.fetch import fetch_model, is_cached, use_model
from sse.artifacts.modelcache import ModelCache
from sse.core.errors import ArtifactError
from sse.task.spec import SystemSpec

WEIGHTS = bytes(range(256)) * 40  # 10 KiB, not a pickle
CONFIG = b'{"hidden_size": 8}'


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    h = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.delenv("SSE_OFFLINE", raising=False)
    yield h
    h.stop()


def hf_spec(name: str, repo: str, files: list[str] | None = None, revision: str = "main", **extra: object) -> SystemSpec:
    src: dict[str, object] = {"hf": repo, "revision": revision, **extra}
    if files is not None:
        src["files"] = files
    return SystemSpec(name=name, kind="native", source=src, registry_file="models.yaml")


def blobs(cache_dir: Path) -> list[Path]:
    return [p for p in cache_dir.rglob("blobs/*") if p.is_file()]


def test_good_download_verified_and_cached(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS, "config.json": CONFIG, "README.md": b"hi"})
    spec = hf_spec("tiny", "org/tiny", ["*.safetensors", "config.json"])
    assert not is_cached(spec, cache_dir=tmp_path)
    r = fetch_model(spec, cache_dir=tmp_path)
    assert r.downloaded and is_cached(spec, cache_dir=tmp_path)
    assert sorted(p.name for p in r.files) == ["config.json", "model.safetensors"]
    assert r.file("model.safetensors").read_bytes() == WEIGHTS
    assert r.file("config.json").read_bytes() == CONFIG
    m = r.manifest
    assert m["commit"] == repo.commit and m["revision"] == "main" and m["kind"] == "hf"
    assert m["files"]["model.safetensors"]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert m["files"]["model.safetensors"]["verified_against"] == "hub-lfs-sha256"
    assert m["files"]["config.json"]["verified_against"] == "hub-git-blob-id"
    assert m["files"]["model.safetensors"]["size"] == len(WEIGHTS)
    assert m["unsafe_allow_pickle"] is False and m["fetched_at"]
    assert r.manifest_path.exists() and r.root.is_dir()
    assert hub.gets("org/tiny", "README.md") == 0  # not in the patterns
    before = sum(hub.hits.values())
    again = fetch_model(spec, cache_dir=tmp_path)
    assert not again.downloaded and again.files == r.files
    assert sum(hub.hits.values()) == before  # a cached model makes no request at all


def test_cached_model_works_offline_and_missing_one_fails_in_one_line(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    hub.add_repo("org/other", {"model.safetensors": WEIGHTS})
    spec = hf_spec("tiny", "org/tiny")
    fetch_model(spec, cache_dir=tmp_path)
    hub.stop()  # the network is gone
    assert fetch_model(spec, cache_dir=tmp_path).file("model.safetensors").read_bytes() == WEIGHTS
    with pytest.raises(ArtifactError) as ei:
        fetch_model(hf_spec("other", "org/other"), cache_dir=tmp_path)
    msg = str(ei.value)
    assert "\n" not in msg
    assert "model other is not in the model cache" in msg and "sse models fetch other" in msg


def test_sse_offline_refuses_network_for_missing_model(hub: FakeHub, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    monkeypatch.setenv("SSE_OFFLINE", "1")
    with pytest.raises(ArtifactError, match="SSE_OFFLINE"):
        fetch_model(hf_spec("tiny", "org/tiny"), cache_dir=tmp_path)
    assert sum(hub.hits.values()) == 0


def test_published_checksum_mismatch_halts_and_removes_file(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add_repo("org/bad", {"model.safetensors": WEIGHTS})
    lie = "ab" * 32
    repo.published_sha256["model.safetensors"] = lie
    with pytest.raises(ArtifactError) as ei:
        fetch_model(hf_spec("bad", "org/bad"), cache_dir=tmp_path)
    msg = str(ei.value)
    assert lie in msg and hashlib.sha256(WEIGHTS).hexdigest() in msg and "checksum mismatch" in msg
    assert blobs(tmp_path) == []  # never left in the cache
    assert not list(tmp_path.rglob("manifest.json"))
    assert not [p for p in tmp_path.rglob("model.safetensors")]
    # the hub is fixed: the next fetch downloads again and succeeds
    repo.published_sha256.clear()
    assert fetch_model(hf_spec("bad", "org/bad"), cache_dir=tmp_path).downloaded


def test_pinned_checksum_mismatch_halts(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS, "config.json": CONFIG})
    wrong = "0" * 64
    spec = hf_spec("tiny", "org/tiny", sha256={"model.safetensors": wrong})
    with pytest.raises(ArtifactError, match=f"expected {wrong} \\(pinned\\), got {hashlib.sha256(WEIGHTS).hexdigest()}"):
        fetch_model(spec, cache_dir=tmp_path)
    assert not [p for p in tmp_path.rglob("model.safetensors")]
    right = hf_spec("tiny", "org/tiny", sha256={"model.safetensors": hashlib.sha256(WEIGHTS).hexdigest()})
    r = fetch_model(right, cache_dir=tmp_path)
    assert r.manifest["files"]["model.safetensors"]["verified_against"] == "pinned"


def test_pickle_by_extension_refused_before_any_download(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/torch", {"pytorch_model.bin": pickle.dumps({"w": [1.0]}, protocol=2), "config.json": CONFIG})
    with pytest.raises(ArtifactError) as ei:
        fetch_model(hf_spec("torch", "org/torch"), cache_dir=tmp_path)
    msg = str(ei.value)
    assert "pytorch_model.bin" in msg and ".safetensors" in msg and "--unsafe-allow-pickle" in msg
    assert not any("resolve" in p for (_m, p) in hub.hits)  # not one byte of any file was requested
    assert not list(tmp_path.rglob("manifest.json"))


def _torch_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2))
        z.writestr("archive/data/0", b"\0" * 16)
    return buf.getvalue()


@pytest.mark.parametrize("payload", [
    pickle.dumps({"weight": [0.5] * 8}, protocol=4),
    pickle.dumps({"weight": [0.5] * 8}, protocol=0),
    _torch_zip(),
], ids=["pickle-protocol-4", "pickle-protocol-0", "torch-zip"])
def test_pickle_disguised_as_safetensors_refused_and_removed(hub: FakeHub, tmp_path: Path, payload: bytes) -> None:
    hub.add_repo("org/sneaky", {"model.safetensors": payload})
    with pytest.raises(ArtifactError, match="refusing model.safetensors"):
        fetch_model(hf_spec("sneaky", "org/sneaky"), cache_dir=tmp_path)
    assert blobs(tmp_path) == []
    assert not list(tmp_path.rglob("manifest.json"))


def test_unsafe_allow_pickle_is_recorded_and_required_again(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/torch", {"pytorch_model.bin": pickle.dumps({"w": 1}, protocol=2)})
    spec = hf_spec("torch", "org/torch")
    r = fetch_model(spec, cache_dir=tmp_path, unsafe_allow_pickle=True)
    assert r.manifest["unsafe_allow_pickle"] is True
    assert r.manifest["pickle_files"] == ["pytorch_model.bin"]
    assert r.manifest["files"]["pytorch_model.bin"]["pickle"] is True
    with pytest.raises(ArtifactError, match="refusing pytorch_model.bin"):
        fetch_model(spec, cache_dir=tmp_path)  # cached, but this caller did not accept pickles


def test_revision_that_does_not_exist(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    for rev in ("v9.9", "f" * 40):
        with pytest.raises(ArtifactError) as ei:
            fetch_model(hf_spec("tiny", "org/tiny", revision=rev), cache_dir=tmp_path)
        assert f"revision '{rev}' does not exist in org/tiny" in str(ei.value)
    with pytest.raises(ArtifactError, match="repository org/none not found"):
        fetch_model(hf_spec("none", "org/none"), cache_dir=tmp_path)


def test_commit_pin_and_unpinned_revision_rejected(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    r = fetch_model(hf_spec("tiny", "org/tiny", revision=repo.commit), cache_dir=tmp_path)
    assert r.manifest["commit"] == repo.commit
    from sse.core.errors import ConfigError

    with pytest.raises(ConfigError, match="must pin a revision"):
        fetch_model(SystemSpec(name="x", kind="native", source={"hf": "org/tiny"}), cache_dir=tmp_path)


@pytest.mark.parametrize("chunk", [1024, None], ids=["resume-with-range", "restart"])
def test_interrupted_transfer_resumes_or_restarts(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  chunk: int | None) -> None:
    """huggingface_hub resumes from the bytes it has written (Range) or, when the cut came before its
    first chunk was flushed, starts again; either way only the whole, verified file is kept."""
    import huggingface_hub.constants as hfc

    if chunk:
        monkeypatch.setattr(hfc, "DOWNLOAD_CHUNK_SIZE", chunk)
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    hub.truncate["model.safetensors"] = 1  # the first GET dies half-way through the body
    r = fetch_model(hf_spec("tiny", "org/tiny"), cache_dir=tmp_path)
    assert r.file("model.safetensors").read_bytes() == WEIGHTS
    assert hub.gets("org/tiny", "model.safetensors") == 2
    ranges = [h.get("Range") for (m, p, h) in hub.requests if m == "GET" and "resolve" in p]
    assert ranges == [None, f"bytes={len(WEIGHTS) // 2}-" if chunk else None]
    assert not list(tmp_path.rglob("*.incomplete"))


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sse.artifacts.fetch import fetch_model
    from sse.task.spec import SystemSpec
    spec = SystemSpec(name=sys.argv[2], kind="native", source={"hf": sys.argv[3], "revision": "main"})
    r = fetch_model(spec, cache_dir=Path(sys.argv[1]))
    print("DOWNLOADED" if r.downloaded else "CACHED", r.manifest["files"]["model.safetensors"]["sha256"])
""")


def _child(hub: FakeHub, cache: Path, name: str, repo: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(cache), name, repo], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_download_never_counts_as_complete(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    reached, release = threading.Event(), threading.Event()
    hub.stall["model.safetensors"] = (reached, release)
    proc = _child(hub, tmp_path, "tiny", "org/tiny")
    try:
        assert reached.wait(30), "the child never started the download"
        os.kill(proc.pid, signal.SIGKILL)  # killed mid-transfer
        proc.wait(10)
    finally:
        release.set()
        del hub.stall["model.safetensors"]
    assert not list(tmp_path.rglob("manifest.json"))
    assert not [p for p in tmp_path.rglob("model.safetensors")]
    assert list(tmp_path.rglob("*.incomplete"))  # the killed process left its partial behind
    r = fetch_model(hf_spec("tiny", "org/tiny"), cache_dir=tmp_path)
    assert r.downloaded and r.file("model.safetensors").read_bytes() == WEIGHTS
    assert not list(tmp_path.rglob("*.incomplete"))  # the dead process's partial is gone


def test_two_processes_fetch_the_same_model_once(hub: FakeHub, tmp_path: Path) -> None:
    from sse.artifacts.fetch import entry_name

    hub.add_repo("org/tiny", {"model.safetensors": WEIGHTS})
    reached, release = threading.Event(), threading.Event()
    hub.hold["model.safetensors"] = (reached, release)  # the first download stays in flight...
    procs = [_child(hub, tmp_path, "tiny", "org/tiny") for _ in range(2)]
    try:
        assert reached.wait(30)
        pins = tmp_path / "pins" / entry_name(hf_spec("tiny", "org/tiny"))
        deadline = time.monotonic() + 30
        while len(list(pins.glob("*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # ...until the second process is inside fetch_model too
        assert len(list(pins.glob("*"))) == 2
    finally:
        release.set()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    assert sorted(o[0].split()[0] for o in outs) == ["CACHED", "DOWNLOADED"]
    assert len({o[0].split()[1] for o in outs}) == 1
    assert hub.gets("org/tiny", "model.safetensors") == 1


def test_use_model_pins_against_eviction(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_repo("org/a", {"model.safetensors": WEIGHTS})
    hub.add_repo("org/b", {"model.safetensors": WEIGHTS[::-1]})
    with use_model(hf_spec("a", "org/a"), cache_dir=tmp_path, limit_bytes=1) as a:
        b = fetch_model(hf_spec("b", "org/b"), cache_dir=tmp_path, limit_bytes=1)
        assert a.entry not in b.evicted and a.file("model.safetensors").exists()
    cache = ModelCache(tmp_path, limit_bytes=1)
    assert cache.entry_names() == sorted([a.entry, b.entry])  # both stayed: one pinned, one just fetched
    assert cache.enforce_limit() == [a.entry, b.entry]  # unpinned now: least recently used goes first
    assert cache.entry_names() == []
