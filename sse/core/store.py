"""Content keys and the content-addressed store.

Keys are xxh3_128 over a canonical JSON encoding of the inputs. The store is a
diskcache.Cache bounded by size with least-recently-used eviction; values are
JSON text (never pickles). diskcache commits each write in one SQLite
transaction, so a run killed at any moment leaves either the whole entry or
nothing. An evicted entry is simply recomputed by whoever asks for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import diskcache
import xxhash

DEFAULT_CACHE_BYTES = 10 * 1024**3


def _canon(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canon(v) for v in obj), key=repr)
    if isinstance(obj, float) and obj != obj:
        return "NaN"
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def content_key(*parts: Any) -> str:
    """xxh3_128 hex digest of the canonical JSON of `parts`."""
    blob = json.dumps(_canon(list(parts)), separators=(",", ":"), ensure_ascii=False)
    return xxhash.xxh3_128_hexdigest(blob.encode("utf-8"))


def file_key(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """xxh3_128 of a file's bytes, streamed."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_root() -> Path:
    """The cache folder: $SSE_CACHE_DIR, else ./cache."""
    return Path(os.environ.get("SSE_CACHE_DIR", "cache")).resolve()


def cache_limit_bytes() -> int:
    raw = os.environ.get("SSE_CACHE_BYTES")
    return int(raw) if raw else DEFAULT_CACHE_BYTES


class Store:
    """Content-addressed JSON store, namespaced (completion, verdict, example_check...)."""

    def __init__(self, root: str | os.PathLike[str] | None = None, size_limit: int | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "store"
        self.root.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(
            str(self.root),
            size_limit=size_limit if size_limit is not None else cache_limit_bytes(),
            eviction_policy="least-recently-used",
            cull_limit=10,
        )

    @staticmethod
    def _k(namespace: str, key: str) -> str:
        return f"{namespace}/{key}"

    def get(self, namespace: str, key: str) -> Any | None:
        raw = self._cache.get(self._k(namespace, key))
        return None if raw is None else json.loads(raw)

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in keys:
            v = self.get(namespace, k)
            if v is not None:
                out[k] = v
        return out

    def put(self, namespace: str, key: str, value: Any) -> None:
        self._cache.set(self._k(namespace, key), json.dumps(value, ensure_ascii=False))

    def delete(self, namespace: str, key: str) -> bool:
        return bool(self._cache.delete(self._k(namespace, key)))

    def __contains__(self, nk: tuple[str, str]) -> bool:
        return self._k(*nk) in self._cache

    def keys(self, namespace: str) -> list[str]:
        prefix = f"{namespace}/"
        return [k[len(prefix):] for k in self._cache.iterkeys() if isinstance(k, str) and k.startswith(prefix)]

    def volume(self) -> int:
        return int(self._cache.volume())

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temp file in the same folder and rename: never a half-written file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = False) -> Iterator[Path]:
    """Yield a temp path beside `path`; when the block succeeds it gets normal permissions and is
    renamed onto `path`, otherwise it is removed. A process killed at any moment leaves the old file
    or the new one, never a partial one. `durable` fsyncs first (matters only for power loss)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp makes it 0600
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Temp file + rename (see atomic_path)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
