"""The .apr container: round trip, alignment, and every way a file can be bad."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import xxhash

from sse.core.errors import ArtifactError
from sse.runtime.apr import ALIGN, FORMAT_VERSION, MAGIC, PREAMBLE, AprFile, read_apr, write_apr


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"a": rng.standard_normal((3, 5)).astype(np.float32), "b": np.arange(7, dtype=np.int8),
            "c": rng.standard_normal(33).astype(np.float16), "empty": np.zeros((0, 4), np.float32),
            "u": np.frombuffer(b"hello", np.uint8)}


def test_round_trip_memmap_and_alignment(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {"x": 1, "s": "é"}, _tensors())
    apr = read_apr(p)
    assert apr.metadata == {"x": 1, "s": "é"}
    assert apr.version == FORMAT_VERSION
    for name, want in _tensors().items():
        got = apr.tensor(name)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        assert (apr.data_offset + apr.entries[name].offset) % ALIGN == 0
    assert isinstance(apr.tensor("a").base, np.memmap) or isinstance(apr._mm, np.memmap)
    with pytest.raises(ValueError):
        apr.tensor("a")[0, 0] = 1.0  # read-only view
    assert p.read_bytes()[:4] == b"APR!" and int.from_bytes(p.read_bytes()[:4], "big") == 0x41505221


def test_truncated_file_is_one_line_error(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {}, _tensors())
    raw = p.read_bytes()
    for cut in (2, 20, PREAMBLE.size + 20, len(raw) - 70):
        q = tmp_path / f"cut{cut}.apr"
        q.write_bytes(raw[:cut])
        with pytest.raises(ArtifactError) as e:
            read_apr(q)
        assert "\n" not in str(e.value) and str(q) in str(e.value)


def test_corrupt_tensor_byte_detected(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {}, _tensors())
    apr = AprFile(p)
    pos = apr.data_offset + apr.entries["a"].offset + 3
    raw = bytearray(p.read_bytes())
    raw[pos] ^= 0xFF
    p.write_bytes(bytes(raw))
    AprFile(p, verify_tensors=False)  # header still fine
    with pytest.raises(ArtifactError, match="tensor a checksum mismatch"):
        read_apr(p)


def test_corrupt_header_detected(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {"k": "value"}, _tensors())
    raw = bytearray(p.read_bytes())
    i = raw.index(b"value")
    raw[i] = ord("V")
    p.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="header checksum mismatch"):
        read_apr(p)


def test_wrong_magic_and_empty(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {}, _tensors())
    raw = bytearray(p.read_bytes())
    raw[:4] = b"GGUF"
    p.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="not an .apr file"):
        read_apr(p)
    e = tmp_path / "empty.apr"
    e.write_bytes(b"")
    with pytest.raises(ArtifactError, match="not an .apr file"):
        read_apr(e)
    with pytest.raises(ArtifactError, match="cannot read"):
        read_apr(tmp_path / "missing.apr")


def test_future_version_refused(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {}, _tensors())
    raw = bytearray(p.read_bytes())
    _, _, hlen, off = PREAMBLE.unpack(raw[: PREAMBLE.size])
    pre = PREAMBLE.pack(MAGIC, FORMAT_VERSION + 1, hlen, off)
    raw[: PREAMBLE.size] = pre  # even with a consistent checksum the version is refused first
    raw[PREAMBLE.size: PREAMBLE.size + 16] = xxhash.xxh3_128(pre + bytes(raw[40: 40 + hlen])).digest()
    p.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match=f"format version {FORMAT_VERSION + 1} is not supported"):
        read_apr(p)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:

    bad = {"ok": np.zeros(3, np.float32), "bad": np.zeros(3, np.complex64)}
    with pytest.raises(ArtifactError, match="cannot be stored"):
        write_apr(tmp_path / "m.apr", {}, bad)
    assert list(tmp_path.iterdir()) == []


def test_header_length_lie_is_truncation(tmp_path: Path) -> None:
    p = write_apr(tmp_path / "m.apr", {}, _tensors())
    raw = bytearray(p.read_bytes())
    struct.pack_into("<Q", raw, 8, 10**12)
    p.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        read_apr(p)
