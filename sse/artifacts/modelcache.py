"""The JIT model cache: whole models as entries, bounded by size, evicted least-recently-used.

Layout under the model cache root (default `<SSE_CACHE_DIR>/models`):

    entries/<name>--<key16>/     one folder per (model name, source) pair; manifest.json last
    pins/<entry>/<pid>.<rand>    one file per live user of an entry; an entry with a live pin
                                 is never evicted (a pin of a dead process is stale and ignored)
    last_used/<entry>            time_ns of the last use, written atomically
    .locks/<entry>.lock          held while an entry is being fetched (one download per model)
    .cache.lock                  held while pins are taken or entries are evicted

Eviction renames the entry folder away under the cache lock before deleting it, so another
process either sees the whole entry or none of it. An entry without manifest.json is incomplete
and is never returned as a model; the fetcher finishes it under the entry lock.

Converted models are entries too: `<name>.<quantization>.<key>.apr` at the root with its
`.gate.json` and `.validated.json` beside it (the entry is named by the .apr file). Evicting one
removes those files; the next use converts again from the sources (fetched again if they went).

The bound: $SSE_MODEL_CACHE_BYTES when set (the model cache alone); otherwise the cache's one
bound, $SSE_CACHE_BYTES, counted over everything in the cache folder (store and build files
included), so models are evicted least-recently-used until the whole folder fits. Models are what
this bound evicts; the store keeps its own LRU within the same figure.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sse.core.errors import ArtifactError, ConfigError, SseError
from sse.core.store import atomic_write_text, cache_limit_bytes, cache_root, tree_size

DEFAULT_MODEL_CACHE_BYTES = 10 * 1000**3
MANIFEST = "manifest.json"
CONVERTED = ".apr"  # an entry named like this is a converted model at the root, with its sidecars
KEPT_SIDECARS = (".sources.json",)  # what converting needs to start again is kept on eviction
ENV_DIR = "SSE_MODEL_CACHE_DIR"
ENV_BYTES = "SSE_MODEL_CACHE_BYTES"


def model_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The model cache root: the argument, else $SSE_MODEL_CACHE_DIR, else <cache root>/models."""
    if cache_dir is not None:
        return Path(cache_dir).resolve()
    env = os.environ.get(ENV_DIR)
    return Path(env).resolve() if env else cache_root() / "models"


def model_cache_limit(limit_bytes: int | None = None) -> int:
    """The size bound: the argument, else $SSE_MODEL_CACHE_BYTES (plain bytes or 10GB/500MB), else
    the cache's one bound $SSE_CACHE_BYTES, else 10 GB."""
    if limit_bytes is not None:
        return int(limit_bytes)
    raw = os.environ.get(ENV_BYTES)
    if not raw:
        return cache_limit_bytes() if os.environ.get("SSE_CACHE_BYTES") else DEFAULT_MODEL_CACHE_BYTES
    try:
        return parse_size(raw)
    except ValueError:
        raise ConfigError(f"cannot read {raw!r} as a size", field=ENV_BYTES,
                          fix="give bytes or a size such as 10GB, 500MB") from None


def parse_size(text: str) -> int:
    t = text.strip().upper().replace(" ", "")
    units = {"TIB": 1024**4, "GIB": 1024**3, "MIB": 1024**2, "KIB": 1024, "TB": 1000**4, "GB": 1000**3,
             "MB": 1000**2, "KB": 1000, "B": 1}
    for suffix, mult in units.items():
        if t.endswith(suffix):
            return int(float(t[: -len(suffix)]) * mult)
    return int(t)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class EntryInfo:
    """One cached model as `sse models list` shows it."""

    entry: str
    name: str
    path: Path
    size: int
    last_used_ns: int
    complete: bool
    pinned: bool
    manifest: dict[str, Any] | None

    @property
    def sources_released(self) -> bool:
        return bool(self.manifest and self.manifest.get("sources_released"))


class ModelCache:
    """Bookkeeping of the model cache; the fetcher (fetch.py) fills entries."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None, limit_bytes: int | None = None) -> None:
        self.root = model_cache_dir(cache_dir)
        self.limit = model_cache_limit(limit_bytes)
        # sharing the cache's one bound: the rest of the cache folder counts against it too
        self.shared = limit_bytes is None and not os.environ.get(ENV_BYTES) and self.root == cache_root() / "models"
        for sub in ("entries", "pins", "last_used", ".locks"):
            with contextlib.suppress(OSError):  # a read-only cache is still read (nothing is evicted there)
                (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ paths and locks
    def entry_dir(self, entry: str) -> Path:
        """The entry's folder (a converted model: its .apr file)."""
        return self.root / entry if entry.endswith(CONVERTED) else self.root / "entries" / entry

    def entry_files(self, entry: str) -> list[Path]:
        """What evicting the entry removes: its folder, or a converted model's .apr and sidecars."""
        if not entry.endswith(CONVERTED):
            return [self.entry_dir(entry)]
        stem = entry[: -len(CONVERTED)]
        sidecars = [p for p in self.root.glob(glob.escape(stem) + ".*.json") if not p.name.endswith(KEPT_SIDECARS)]
        return [self.entry_dir(entry), *sorted(sidecars)]

    def entry_size(self, entry: str) -> int:
        return sum(tree_size(p) for p in self.entry_files(entry))

    def manifest_path(self, entry: str) -> Path:
        return self.entry_dir(entry) / MANIFEST

    def _cache_lock(self) -> FileLock:
        return FileLock(str(self.root / ".cache.lock"))

    def entry_lock(self, entry: str, timeout: float = -1) -> FileLock:
        """Held for the whole fetch of one entry: a second process waits, then finds it complete."""
        return FileLock(str(self.root / ".locks" / f"{entry}.lock"), timeout=timeout)

    # ------------------------------------------------------------------ manifest and use time
    def read_manifest(self, entry: str) -> dict[str, Any] | None:
        p = self.manifest_path(entry)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return None  # a torn manifest cannot happen (atomic write); an edited one is refetched

    def write_manifest(self, entry: str, manifest: dict[str, Any]) -> Path:
        p = self.manifest_path(entry)
        atomic_write_text(p, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return p

    def touch(self, entry: str) -> None:
        """Record a use now (the LRU clock); a cache this process cannot write keeps its old clock."""
        with contextlib.suppress(SseError, OSError):
            atomic_write_text(self.root / "last_used" / entry, str(time.time_ns()))

    def last_used_ns(self, entry: str) -> int:
        p = self.root / "last_used" / entry
        try:
            return int(p.read_text().strip())
        except (FileNotFoundError, ValueError):
            d = self.entry_dir(entry)
            return d.stat().st_mtime_ns if d.exists() else 0

    # ------------------------------------------------------------------ pins
    def _pin_dir(self, entry: str) -> Path:
        return self.root / "pins" / entry

    @contextmanager
    def pin(self, entry: str) -> Iterator[None]:
        """Keep `entry` from eviction while the block runs (across processes)."""
        d = self._pin_dir(entry)
        with self._cache_lock():
            d.mkdir(parents=True, exist_ok=True)
            pin_file = d / f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
            pin_file.write_text(str(time.time()))
        try:
            yield
        finally:
            pin_file.unlink(missing_ok=True)

    def hold(self, entry: str) -> None:
        """Pin `entry` for the rest of this process (an evaluation using a model): removed at exit,
        and ignored as stale if the process dies without removing it. A cache folder this process
        cannot write is not evicted by it either, so there the pin is skipped."""
        d = self._pin_dir(entry)
        try:
            with self._cache_lock():
                d.mkdir(parents=True, exist_ok=True)
                pin_file = d / f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
                pin_file.write_text(str(time.time()))
        except OSError:
            return
        atexit.register(pin_file.unlink, missing_ok=True)

    def is_pinned(self, entry: str) -> bool:
        d = self._pin_dir(entry)
        if not d.is_dir():
            return False
        live = False
        for f in d.iterdir():
            try:
                pid = int(f.name.split(".", 1)[0])
            except ValueError:
                continue
            if _pid_alive(pid):
                live = True
            else:
                f.unlink(missing_ok=True)  # stale: its process died without unpinning
        return live

    # ------------------------------------------------------------------ listing
    def entry_names(self) -> list[str]:
        folder = self.root / "entries"
        fetched = [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")] \
            if folder.is_dir() else []
        converted = [p.name for p in self.root.glob("*" + CONVERTED) if p.is_file() and not p.name.startswith(".")]
        return sorted(fetched + converted)

    def info(self, entry: str) -> EntryInfo:
        d = self.entry_dir(entry)
        manifest = self.read_manifest(entry)
        converted = entry.endswith(CONVERTED)
        name = manifest.get("name", entry) if manifest else entry.rsplit(".", 3)[0] if converted \
            else entry.rsplit("--", 1)[0]
        return EntryInfo(entry=entry, name=str(name), path=d, size=self.entry_size(entry),
                         last_used_ns=self.last_used_ns(entry),
                         complete=converted or (manifest is not None and not manifest.get("sources_released")),
                         pinned=self.is_pinned(entry), manifest=manifest)

    def entries(self) -> list[EntryInfo]:
        return [self.info(e) for e in self.entry_names()]

    def entries_named(self, name: str) -> list[str]:
        return [e for e in self.entry_names() if self.info(e).name == name]

    def total_bytes(self) -> int:
        return sum(self.entry_size(e) for e in self.entry_names())

    def other_bytes(self) -> int:
        """Bytes in the rest of the cache folder that count against a shared bound (else 0)."""
        if not self.shared:
            return 0
        return sum(tree_size(p) for p in self.root.parent.iterdir() if p.name != self.root.name)

    # ------------------------------------------------------------------ eviction
    def _remove_locked(self, entry: str) -> None:
        for d in self.entry_files(entry):  # a converted model's .apr goes first: its sidecars say nothing alone
            if d.exists():
                trash = d.parent / f".evicted-{d.name}-{uuid.uuid4().hex[:8]}"
                os.replace(d, trash)  # atomic: readers see all of the entry or nothing
                if trash.is_dir():
                    shutil.rmtree(trash, ignore_errors=True)
                else:
                    trash.unlink(missing_ok=True)
        (self.root / "last_used" / entry).unlink(missing_ok=True)

    def evict(self, entry: str) -> int:
        """Remove a whole entry; refuses while a process uses it. Returns bytes freed."""
        with self._cache_lock():
            if self.is_pinned(entry):
                raise ArtifactError(f"model cache entry {entry} is in use by a running sse process",
                                    file=str(self.entry_dir(entry)), fix="wait for that run to finish, then evict")
            size = self.entry_size(entry)
            self._remove_locked(entry)
            return size

    def enforce_limit(self, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Evict least-recently-used whole entries until the cache fits its bound.

        Pinned entries and those in `keep` stay even when that leaves the cache over the bound
        (a model in use is never pulled from under a run); the next call catches up.
        """
        evicted: list[str] = []
        with self._cache_lock():
            names = self.entry_names()
            sizes = {e: self.entry_size(e) for e in names}
            total = sum(sizes.values()) + self.other_bytes()
            if total <= self.limit:
                return evicted
            for e in sorted(names, key=self.last_used_ns):
                if total <= self.limit:
                    break
                if e in keep or self.is_pinned(e):
                    continue
                self._remove_locked(e)
                total -= sizes[e]
                evicted.append(e)
        return evicted

    def release_sources(self, entry: str) -> int:
        """Delete an entry's downloaded files but keep its manifest (hashes, provenance).

        For after the converted .apr has passed validation: the sources are no longer needed
        to run, and a later fetch downloads them again if a re-conversion asks for them.
        """
        with self._cache_lock():
            if self.is_pinned(entry):
                raise ArtifactError(f"model cache entry {entry} is in use by a running sse process",
                                    file=str(self.entry_dir(entry)), fix="release sources after that run finishes")
            manifest = self.read_manifest(entry)
            if manifest is None:
                return 0
            d = self.entry_dir(entry)
            before = tree_size(d)
            for child in list(d.iterdir()):
                if child.name == MANIFEST:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
            manifest["sources_released"] = True
            manifest["sources_released_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.write_manifest(entry, manifest)
            return before - tree_size(d)
