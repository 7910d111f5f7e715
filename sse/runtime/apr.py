"""The .apr model file: one self-describing, checksummed, memory-mappable file.

Layout (all integers little-endian; see docs/apr-format.md):

    0   4  magic b"APR!" (0x41505221 read big-endian)
    4   4  u32 format version
    8   8  u64 header length H (bytes of UTF-8 JSON)
    16  8  u64 data offset (multiple of 64)
    24 16  xxh3_128 digest of bytes 0..24 followed by the JSON header
    40  H  JSON header: {"metadata": {...}, "tensors": [{name, dtype, shape, offset, nbytes, xxh3}]}
    ..     zero padding to the data offset
    data   tensors, each starting at a 64-byte aligned offset relative to the data offset

Why: the header alone tells what the model is (config, tokenizer, chat
template, provenance, gate results), every byte is covered by a checksum, and
tensors load as zero-copy numpy memmaps.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from sse.core.errors import ArtifactError
from sse.core.store import atomic_path

MAGIC = b"APR!"
MAGIC_U32 = 0x41505221
FORMAT_VERSION = 1
ALIGN = 64
PREAMBLE = struct.Struct("<4sIQQ")  # magic, version, header_len, data_offset
PREAMBLE_SIZE = PREAMBLE.size + 16  # + header digest
MAX_HEADER = 1 << 30

DTYPES: dict[str, np.dtype[Any]] = {
    "f32": np.dtype("<f4"),
    "f16": np.dtype("<f2"),
    "i8": np.dtype("i1"),
    "u8": np.dtype("u1"),
    "i32": np.dtype("<i4"),
    "i64": np.dtype("<i8"),
}
_DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

assert int.from_bytes(MAGIC, "big") == MAGIC_U32


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    xxh3: str


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _dtype_name(arr: np.ndarray) -> str:
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    name = _DTYPE_NAMES.get(np.dtype(dt))
    if name is None:
        raise ArtifactError(f"tensor dtype {arr.dtype} cannot be stored in .apr",
                            fix=f"convert to one of {', '.join(DTYPES)}")
    return name


def write_apr(path: str | os.PathLike[str], metadata: Mapping[str, Any],
              tensors: Mapping[str, np.ndarray]) -> Path:
    """Write atomically (temp file in the same folder + rename): never a partial .apr."""
    out = Path(path)
    with atomic_path(out, durable=True) as tmp, open(tmp, "wb") as f:
        write_apr_stream(f, metadata, tensors)
    return out


def write_apr_stream(f: Any, metadata: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> None:
    """Serialise to an open binary file positioned at 0."""
    entries: list[dict[str, Any]] = []
    arrays: list[np.ndarray] = []
    off = 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr)
        dname = _dtype_name(a)
        a = a.astype(DTYPES[dname], copy=False)
        raw = memoryview(a).cast("B") if a.size else memoryview(b"")
        entries.append({"name": name, "dtype": dname, "shape": list(a.shape), "offset": off,
                        "nbytes": a.nbytes, "xxh3": xxhash.xxh3_128_hexdigest(raw)})
        arrays.append(a)
        off = _align(off + a.nbytes)
    header = json.dumps({"metadata": dict(metadata), "tensors": entries},
                        separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    data_offset = _align(PREAMBLE_SIZE + len(header))
    pre = PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header), data_offset)
    digest = xxhash.xxh3_128(pre + header).digest()
    f.write(pre + digest + header)
    f.write(b"\0" * (data_offset - PREAMBLE_SIZE - len(header)))
    pos = 0
    for e, a in zip(entries, arrays, strict=True):
        if e["offset"] > pos:
            f.write(b"\0" * (e["offset"] - pos))
            pos = e["offset"]
        if a.size:
            f.write(memoryview(a).cast("B"))
        pos += a.nbytes
    end = _align(pos)
    if end > pos:
        f.write(b"\0" * (end - pos))


class AprFile:
    """An opened .apr: header parsed and checked; tensors as read-only memmaps."""

    def __init__(self, path: str | os.PathLike[str], *, verify_tensors: bool = False) -> None:
        self.path = Path(path)
        p = str(self.path)
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                pre = f.read(PREAMBLE_SIZE)
                if len(pre) < 4 or pre[:4] != MAGIC:
                    raise ArtifactError(f"not an .apr file (magic {pre[:4]!r}, expected {MAGIC!r})", file=p,
                                        field="magic", fix="point at an .apr written by the converter")
                if len(pre) < PREAMBLE_SIZE:
                    raise ArtifactError("file truncated inside the preamble", file=p, field="header",
                                        fix="delete it and convert again")
                magic, version, hlen, data_offset = PREAMBLE.unpack(pre[: PREAMBLE.size])
                digest = pre[PREAMBLE.size:]
                if version > FORMAT_VERSION or version < 1:
                    raise ArtifactError(
                        f"format version {version} is not supported (this sse reads up to {FORMAT_VERSION})",
                        file=p, field="version", fix="upgrade sse or convert the model again")
                if hlen > MAX_HEADER or PREAMBLE_SIZE + hlen > size:
                    raise ArtifactError(f"header length {hlen} exceeds the file ({size} bytes): truncated or corrupt",
                                        file=p, field="header", fix="delete it and convert again")
                header = f.read(hlen)
        except OSError as e:
            raise ArtifactError(f"cannot read: {e.strerror or e}", file=p, fix="check the path") from e
        if xxhash.xxh3_128(pre[: PREAMBLE.size] + header).digest() != digest:
            raise ArtifactError("header checksum mismatch: the file is corrupt", file=p, field="header.xxh3",
                                fix="delete it and convert again")
        try:
            doc = json.loads(header.decode("utf-8"))
            self.metadata: dict[str, Any] = doc["metadata"]
            self.entries: dict[str, TensorEntry] = {}
            for e in doc["tensors"]:
                te = TensorEntry(str(e["name"]), str(e["dtype"]), tuple(int(s) for s in e["shape"]),
                                 int(e["offset"]), int(e["nbytes"]), str(e["xxh3"]))
                if te.dtype not in DTYPES:
                    raise ValueError(f"unknown dtype {te.dtype}")
                self.entries[te.name] = te
        except (ValueError, KeyError, TypeError) as e:
            raise ArtifactError(f"header is not valid .apr JSON ({e})", file=p, field="header",
                                fix="delete it and convert again") from e
        if data_offset % ALIGN or data_offset < PREAMBLE_SIZE + hlen:
            raise ArtifactError(f"bad data offset {data_offset}", file=p, field="data_offset",
                                fix="delete it and convert again")
        self.version = int(version)
        self.data_offset = int(data_offset)
        need = max((self.data_offset + e.offset + e.nbytes for e in self.entries.values()), default=data_offset)
        if need > size:
            raise ArtifactError(f"file truncated: {size} bytes, tensors need {need}", file=p, field="tensors",
                                fix="delete it and convert again")
        for e in self.entries.values():
            n = int(np.prod(e.shape, dtype=np.int64)) * DTYPES[e.dtype].itemsize
            if n != e.nbytes or e.offset % ALIGN:
                raise ArtifactError(f"tensor {e.name}: shape/dtype disagree with nbytes or alignment", file=p,
                                    field=f"tensors.{e.name}", fix="delete it and convert again")
        self._mm = np.memmap(self.path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        if verify_tensors:
            self.verify()

    def names(self) -> list[str]:
        return list(self.entries)

    def _raw(self, name: str) -> np.ndarray:
        e = self.entries[name]
        start = self.data_offset + e.offset
        return self._mm[start: start + e.nbytes]

    def tensor(self, name: str) -> np.ndarray:
        """Zero-copy, read-only view of one tensor."""
        if name not in self.entries:
            raise ArtifactError(f"tensor {name!r} missing", file=str(self.path), field="tensors",
                                fix="convert the model again")
        e = self.entries[name]
        return self._raw(name).view(DTYPES[e.dtype]).reshape(e.shape)

    def verify(self) -> int:
        """Check every tensor's xxh3; returns the number checked. Raises on the first mismatch."""
        for name, e in self.entries.items():
            got = xxhash.xxh3_128_hexdigest(memoryview(np.ascontiguousarray(self._raw(name))))
            if got != e.xxh3:
                raise ArtifactError(f"tensor {name} checksum mismatch: the file is corrupt", file=str(self.path),
                                    field=f"tensors.{name}.xxh3", fix="delete it and convert again")
        return len(self.entries)

    def tensors(self) -> dict[str, np.ndarray]:
        return {n: self.tensor(n) for n in self.entries}


def read_apr(path: str | os.PathLike[str], *, verify_tensors: bool = True) -> AprFile:
    return AprFile(path, verify_tensors=verify_tensors)
