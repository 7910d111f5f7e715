"""Content keys and the content-addressed store.
Why one module of ~700 lines: keys, the sealed store, sealed build files and check/repair are one on-disk contract (the seal format) read in one place.


Keys are xxh3_128 over a canonical JSON encoding of the inputs. The store is a
diskcache.Cache bounded by size with least-recently-used eviction; values are
JSON text (never pickles). diskcache commits each write in one SQLite
transaction, so a run killed at any moment leaves either the whole entry or
nothing. An evicted entry is simply recomputed by whoever asks for it.

Why each value is sealed (`sse1:<xxh3 of key and text>:<json>`): a cache is
evidence, so a value whose bytes changed (a bad disk, a bad copy, an edit) must
not be served. A damaged, unreadable or unsealed value reads as missing (one
warning line) and is recomputed by its caller. Pickled values and keys, which
diskcache would unpickle, are refused. A damaged database file, a full disk and
a read-only directory are each one line naming the place and the fix; a
read-only directory still serves reads, so a run with nothing to do needs no
writes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache
import orjson
import xxhash

from sse.core.errors import SseError, StoreError

DEFAULT_CACHE_BYTES = 10 * 1024**3


def _canon(obj: Any) -> Any:
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:  # the common leaves first: keys hash lists of keys
        return obj
    if (t is list or t is tuple) and all(type(v) is str for v in obj):
        return list(obj)
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


def tree_size(path: Path) -> int:
    """Bytes on disk under `path` (a file or a folder), not following symlinks (hub snapshots
    are links to blobs); 0 when it is gone."""
    try:
        if not path.is_dir() or path.is_symlink():
            return os.lstat(path).st_size
    except FileNotFoundError:
        return 0
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except FileNotFoundError:
                pass
    return total


def cache_root() -> Path:
    """The cache folder: $SSE_CACHE_DIR, else ./cache."""
    return Path(os.environ.get("SSE_CACHE_DIR", "cache")).resolve()


def cache_limit_bytes() -> int:
    raw = os.environ.get("SSE_CACHE_BYTES")
    return int(raw) if raw else DEFAULT_CACHE_BYTES


SEAL = "sse1"
DB_NAME = "cache.db"  # diskcache's database file inside the store folder
_WARN_LINES = 3  # damaged entries named per namespace before the rest are only counted


class _SafeDisk(diskcache.Disk):
    """diskcache's serializer without its pickle paths: a forged row must not run code."""

    def get(self, key: Any, raw: bool) -> Any:
        return super().get(key, raw) if raw else None  # pickled keys are skipped (not str)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == diskcache.core.MODE_PICKLE:
            raise ValueError("a pickled value (sse stores JSON text only)")
        return super().fetch(mode, filename, value, read)


def _digest(nk: str, text: str) -> str:
    """Bound to the key as well, so a valid value moved under another key is refused too."""
    return xxhash.xxh3_128_hexdigest(f"{nk}\n{text}".encode())


def _seal(nk: str, text: str) -> str:
    return f"{SEAL}:{_digest(nk, text)}:{text}"


def _unseal(nk: str, raw: Any) -> tuple[Any, str | None]:
    """(value, None) for an intact sealed value, else (None, what is wrong with it)."""
    if not isinstance(raw, str):
        return None, f"not text but {type(raw).__name__}"
    head, sep, rest = raw.partition(":")
    digest, sep2, text = rest.partition(":")
    if head != SEAL or not sep or not sep2:
        return None, "no integrity seal (written by something else, or an older format)"
    if digest != _digest(nk, text):
        return None, "its bytes do not match their digest"
    try:
        return json.loads(text), None
    except ValueError as e:  # cannot happen unless the digest collides: still never a traceback
        return None, f"not JSON ({e})"


def _no_space(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


def _writable(path: Path) -> bool:
    """Whether this process may create files in `path` (False on a read-only mount, even as root)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return os.access(probe, os.W_OK) and (not (path / DB_NAME).exists() or os.access(path / DB_NAME, os.W_OK))


def classify_failure(e: BaseException, folder: Path) -> str:
    """'damaged', 'full', 'readonly' or 'other' for an error from SQLite or the file system."""
    if isinstance(e, OSError) and e.errno is not None:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "readonly"
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    msg = str(e).lower()
    if primary in (11, 26) or "malformed" in msg or "not a database" in msg:  # CORRUPT, NOTADB
        return "damaged"
    if primary == 13 or "disk is full" in msg:  # FULL
        return "full"
    if primary in (3, 8) or "readonly" in msg or "read-only" in msg:  # PERM, READONLY
        return "readonly"
    if primary in (10, 14) or "unable to open" in msg or "disk i/o" in msg:  # IOERR, CANTOPEN
        if not _writable(folder):
            return "readonly"
        if _no_space(folder):
            return "full"
    return "other"


def store_error(kind: str, folder: Path, e: BaseException | None = None) -> StoreError:
    """The one line for a store failure of `kind` (see classify_failure)."""
    if kind == "damaged":
        return StoreError(f"the cache database is damaged ({e})", file=str(folder / DB_NAME),
                          fix="run `sse cache repair` (moves it aside and keeps every value that can be read; "
                              "the rest is recomputed)")
    if kind == "full":
        return StoreError("no space left on the device to store results", file=str(folder),
                          fix="free disk space, or set SSE_CACHE_DIR to a folder on a disk with room "
                              "(finished results are kept)")
    if kind == "readonly":
        return StoreError("the cache directory is read-only and this run has new results to store",
                          file=str(folder), fix="make it writable, or set SSE_CACHE_DIR to a writable folder "
                                                "(a run with everything up to date needs no writes)")
    return StoreError(f"the cache failed: {e}", file=str(folder),
                      fix="check the folder and the disk; `sse cache check` tells whether the database is intact")


class _ReadOnlyCache:
    """The reads of diskcache.Cache without its writes (no settings update, no LRU access time),
    for a cache directory that cannot be written: an up-to-date run still finds everything."""

    def __init__(self, folder: Path) -> None:
        self._disk = _SafeDisk(str(folder))
        db = folder / DB_NAME
        self._con: sqlite3.Connection | None = None
        if db.exists():
            uri = f"file:{urllib.parse.quote(str(db))}?mode=ro"
            try:
                self._con = sqlite3.connect(uri, uri=True)
                self._con.execute("SELECT count(*) FROM Settings").fetchall()
            except sqlite3.OperationalError:  # WAL needs a -shm file it cannot create here
                self._con = sqlite3.connect(uri + "&immutable=1", uri=True)
                self._con.execute("SELECT count(*) FROM Settings").fetchall()

    def get(self, key: str) -> Any:
        if self._con is None:
            return None
        db_key, raw = self._disk.put(key)
        row = self._con.execute("SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = ?",
                                (db_key, raw)).fetchone()
        if row is None:
            return None
        try:
            return self._disk.fetch(row[0], row[1], row[2], False)
        except FileNotFoundError:
            return None

    def __contains__(self, key: str) -> bool:
        if self._con is None:
            return False
        db_key, raw = self._disk.put(key)
        return self._con.execute("SELECT 1 FROM Cache WHERE key = ? AND raw = ?", (db_key, raw)).fetchone() is not None

    def iterkeys(self) -> Iterator[Any]:
        if self._con is not None:
            for key, raw in self._con.execute("SELECT key, raw FROM Cache ORDER BY key, raw"):
                yield self._disk.get(key, raw)

    def volume(self) -> int:
        if self._con is None:
            return 0
        ((pages,),) = self._con.execute("PRAGMA page_count").fetchall()
        ((size,),) = self._con.execute("PRAGMA page_size").fetchall()
        row = self._con.execute("SELECT value FROM Settings WHERE key = 'size'").fetchone()
        return int(pages) * int(size) + int(row[0] if row else 0)

    def delete(self, key: str) -> bool:
        return False

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


class Store:
    """Content-addressed JSON store, namespaced (completion, verdict, example_check...)."""

    def __init__(self, root: str | os.PathLike[str] | None = None, size_limit: int | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "store"
        self.readonly: str | None = None  # why writes are refused: "readonly" or "full"
        self._damaged: dict[str, int] = {}
        self._cache: Any
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            kind = classify_failure(e, self.root)
            if kind not in ("readonly", "full"):
                raise store_error(kind, self.root, e) from None
        if not _writable(self.root):
            self._open_readonly("readonly")
            return
        try:
            self._cache = diskcache.Cache(
                str(self.root),
                disk=_SafeDisk,
                size_limit=size_limit if size_limit is not None else cache_limit_bytes(),
                eviction_policy="least-recently-used",
                cull_limit=10,
            )
        except (sqlite3.Error, OSError) as e:
            kind = classify_failure(e, self.root)
            if kind not in ("readonly", "full"):
                raise store_error(kind, self.root, e) from None
            self._open_readonly(kind)

    def _open_readonly(self, why: str) -> None:
        self.readonly = why
        try:
            self._cache = _ReadOnlyCache(self.root)
        except sqlite3.Error as e:
            raise store_error(classify_failure(e, self.root), self.root, e) from None

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite and file-system failures as their one line (damaged / full / read-only)."""
        try:
            yield
        except (sqlite3.Error, OSError) as e:
            raise store_error(classify_failure(e, self.root), self.root, e) from None

    @staticmethod
    def _k(namespace: str, key: str) -> str:
        return f"{namespace}/{key}"

    def _bad(self, namespace: str, nk: str, why: str) -> None:
        """A damaged entry reads as missing: say so once, drop it so it is rewritten when recomputed."""
        n = self._damaged[namespace] = self._damaged.get(namespace, 0) + 1
        if n <= _WARN_LINES:
            print(f"sse: warning: {self.root}: damaged cache entry {nk} ({why}); ignored and recomputed",
                  file=sys.stderr)
        elif n == _WARN_LINES + 1:
            print(f"sse: warning: {self.root}: further damaged '{namespace}' entries are ignored and recomputed "
                  f"without a line each (`sse cache check` counts them)", file=sys.stderr)
        if self.readonly is None:
            with contextlib.suppress(sqlite3.Error, OSError):
                self._cache.delete(nk)

    def damaged_count(self) -> dict[str, int]:
        """Damaged entries met so far, per namespace."""
        return dict(self._damaged)

    def get(self, namespace: str, key: str) -> Any | None:
        nk = self._k(namespace, key)
        try:
            with self._guard():
                raw = self._cache.get(nk)
        except StoreError as e:
            if not isinstance(e.__context__, OSError) or classify_failure(e.__context__, self.root) != "other":
                raise
            self._bad(namespace, nk, f"unreadable: {e.__context__}")
            return None
        except ValueError as e:  # refused pickle, a value file that is not UTF-8
            self._bad(namespace, nk, str(e)[:120])
            return None
        if raw is None:
            with self._guard():
                present = nk in self._cache
            if present:  # diskcache reads a lost value file as a miss: say so, like any damage
                self._bad(namespace, nk, "its value file is missing")
            return None
        value, why = _unseal(nk, raw)
        if why is not None:
            self._bad(namespace, nk, why)
            return None
        return value

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in keys:
            v = self.get(namespace, k)
            if v is not None:
                out[k] = v
        return out

    def put(self, namespace: str, key: str, value: Any) -> None:
        if self.readonly is not None:
            raise store_error(self.readonly, self.root)
        nk = self._k(namespace, key)
        text = json.dumps(value, ensure_ascii=False)
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate (undecodable bytes from a tool): escape it, lossless
            text = json.dumps(value)
        with self._guard():
            self._cache.set(nk, _seal(nk, text))

    def delete(self, namespace: str, key: str) -> bool:
        if self.readonly is not None:
            raise store_error(self.readonly, self.root)
        with self._guard():
            return bool(self._cache.delete(self._k(namespace, key)))

    def __contains__(self, nk: tuple[str, str]) -> bool:
        with self._guard():
            return self._k(*nk) in self._cache

    def iterkeys(self) -> Iterator[str]:
        """Every "namespace/key" in the store (membership only: values are checked when read)."""
        with self._guard():
            yield from (k for k in self._cache.iterkeys() if isinstance(k, str))

    def keys(self, namespace: str) -> list[str]:
        prefix = f"{namespace}/"
        return [k[len(prefix):] for k in self.iterkeys() if k.startswith(prefix)]

    def volume(self) -> int:
        with self._guard():
            return int(self._cache.volume())

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error, OSError):
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
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise _write_error(e, p.parent) from None
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp makes it 0600
        os.replace(tmp, p)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise _write_error(e, p.parent) from None
        raise


def _write_error(e: OSError, folder: Path) -> BaseException:
    """A full disk or a read-only folder as its one line; anything else unchanged."""
    kind = classify_failure(e, folder)
    return store_error(kind, folder, e) if kind in ("full", "readonly") else e


def doit_state_file(root: Path | None = None) -> Path:
    """The dependency file doit should use. doit's state is derived (which task ran on which
    inputs), so a damaged one is moved aside with one line (tasks are then re-checked against
    the store); in a read-only or full cache folder doit gets a private copy, because doit
    writes its state even when every task is up to date."""
    root = root if root is not None else cache_root()
    dep = root / "doit.sqlite3"
    state = sqlite_state(dep)
    writable = _writable(root) and not _no_space(root)
    if state.startswith("damaged") and writable:
        aside = dep.with_name(f"{dep.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(dep, aside)
        print(f"sse: warning: {dep}: doit's state file is {state}; moved aside to {aside}, "
              "every task is re-checked against the store", file=sys.stderr)
        return dep
    if writable:
        return dep
    private = Path(tempfile.mkdtemp(prefix="sse-doit-state-")) / dep.name
    if state == "ok":
        try:
            shutil.copyfile(dep, private)
        except OSError as e:
            raise store_error(classify_failure(e, private.parent), private.parent, e) from None
    return private


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = False) -> None:
    """Temp file + rename (see atomic_path)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)


# ---------------------------------------------------------------- sealed files
class DamagedBuildFile(SseError):
    """A sealed file (a build index or shard) is missing, truncated or altered: rebuilt from the store."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        super().__init__(why, file=str(path), fix="nothing to do: it is rebuilt from the store")


def seal_of(blob: bytes) -> str:
    """"SIZE DIGEST" of a file's bytes: the size alone is checked by a stat, the digest when read."""
    return f"{len(blob)} {xxhash.xxh3_128_hexdigest(blob)}"


def read_sealed(path: Path, seal: str | None, kind: type) -> Any:
    """The JSON of a file whose bytes match `seal` and whose top level is a `kind` (a list must
    hold mappings); DamagedBuildFile otherwise."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise DamagedBuildFile(path, "missing") from None
    if seal != seal_of(blob):
        raise DamagedBuildFile(path, "its bytes do not match the digest in its .keys file (truncated or altered)")
    try:
        data = orjson.loads(blob)
    except orjson.JSONDecodeError:
        raise DamagedBuildFile(path, "not JSON") from None
    if not isinstance(data, kind) or (kind is list and not all(isinstance(e, dict) for e in data)):
        raise DamagedBuildFile(path, f"not a JSON {kind.__name__} of entries")
    return data


_WARNED: set[Path] = set()


def sealed_size_ok(path: Path, seal: str | None) -> bool:
    """The cheap half of a seal (a stat): catches truncation without reading the file. A sealed
    file of the wrong size, or gone, is damage: said once per process, then rebuilt by its task."""
    if seal is None:
        return False
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    sealed = seal.split(" ", 1)[0]
    if str(size) == sealed:
        return True
    if path not in _WARNED:
        _WARNED.add(path)
        what = "missing" if size is None else f"{size} bytes, sealed at {sealed}"
        print(f"sse: warning: {path}: damaged build file ({what}); rebuilt from the store", file=sys.stderr)
    return False


# ---------------------------------------------------------------- check and repair
@dataclass
class StoreReport:
    """What `sse cache check` / `sse cache repair` found (and did)."""

    folder: str
    database: str = "ok"  # "ok", "missing", or what is wrong with the file
    intact: dict[str, int] = field(default_factory=dict)  # namespace -> readable, sealed values
    damaged: dict[str, int] = field(default_factory=dict)  # namespace -> values that fail their seal
    moved_to: str | None = None  # repair: where the damaged folder now is
    adopted: dict[str, int] = field(default_factory=dict)  # repair --adopt-unsealed: older values sealed

    @property
    def ok(self) -> bool:
        return self.database in ("ok", "missing") and not self.damaged


def _salvage_copy(db: Path) -> Path:
    """A private copy of a damaged database that SQLite will open: the header no longer claims a
    page count (SQLite believes the real size), the file is cut to whole pages, and indexes whose
    root page was lost are dropped from the schema (one of them makes the whole file "malformed")."""
    data = bytearray(db.read_bytes())
    fd, name = tempfile.mkstemp(prefix="sse-salvage-", suffix=".db")  # never written beside the cache
    os.close(fd)
    out = Path(name)
    pages = 0
    if len(data) >= 100 and data[:16] == b"SQLite format 3\x00":
        page = int.from_bytes(data[16:18], "big")
        page = 65536 if page == 1 else page
        data[92:96] = b"\x00\x00\x00\x00"  # "version-valid-for" != change counter: the size field is ignored
        data[52:56] = data[64:68] = b"\x00\x00\x00\x00"  # no auto-vacuum: pointer-map pages are not checked
        del data[len(data) - len(data) % page:]
        pages = len(data) // page
    out.write_bytes(bytes(data))
    with contextlib.suppress(sqlite3.Error):
        con = sqlite3.connect(str(out))
        try:
            con.execute("PRAGMA writable_schema=ON")
            con.execute("DELETE FROM sqlite_master WHERE type = 'index' AND rootpage > ?", (pages,))
            con.commit()
        finally:
            con.close()
    return out


_ROW = "SELECT rowid, key, raw, mode, filename, value FROM Cache"
_PROBE_PAST = 2000  # rowids probed past the last one seen, for rows behind a lost interior page


def _rows(folder: Path) -> Iterator[tuple[int, Any, Any, Any, Any, Any]]:
    """Every row that can be read: a scan, and where it fails, one lookup per rowid (a lost
    page then costs the rows on it, not the whole table). Raises sqlite3.DatabaseError (after
    yielding what it could) when some rows were unreadable."""
    copy = _salvage_copy(folder / DB_NAME)
    con = sqlite3.connect(f"file:{urllib.parse.quote(str(copy))}?mode=ro&immutable=1", uri=True)
    seen: set[int] = set()
    failure: sqlite3.Error | None = None
    try:
        try:
            for row in con.execute(_ROW + " ORDER BY rowid"):
                seen.add(row[0])
                yield row
            return  # read to the end: nothing missed
        except sqlite3.DatabaseError as e:
            failure = e
        try:
            top = int(con.execute("SELECT value FROM Settings WHERE key = 'count'").fetchone()[0])
        except (sqlite3.Error, TypeError, ValueError):
            top = 0
        rowid, last = 0, max([top, *seen])
        while rowid < last + _PROBE_PAST:
            rowid += 1
            if rowid in seen:
                continue
            try:
                row = con.execute(_ROW + " WHERE rowid = ?", (rowid,)).fetchone()
            except sqlite3.DatabaseError:
                continue
            if row is not None:
                seen.add(rowid)
                last = max(last, rowid)
                yield row
    finally:
        con.close()
        copy.unlink(missing_ok=True)
    if failure is not None:
        raise failure


def _legacy(raw: Any) -> str | None:
    """The sealed form of an unsealed value written before seals existed (JSON text), else None."""
    if not isinstance(raw, str) or raw.startswith(f"{SEAL}:"):
        return None
    try:
        json.loads(raw)
    except ValueError:
        return None
    return raw


def _tally(folder: Path, report: StoreReport, keep: Any = None, adopt: bool = False) -> None:
    """Count (and hand to `keep(nk, raw)`) every intact value of the store in `folder`; with
    `adopt`, unsealed JSON values (an older cache) are sealed as they are and kept too."""
    disk = _SafeDisk(str(folder))
    try:
        for _rowid, key, raw_flag, mode, filename, value in _rows(folder):
            nk = disk.get(key, raw_flag)
            if not isinstance(nk, str):
                report.damaged["<pickled key>"] = report.damaged.get("<pickled key>", 0) + 1
                continue
            ns = nk.split("/", 1)[0]
            try:
                raw = disk.fetch(mode, filename, value, False)
            except (OSError, ValueError):
                raw = None
            _, why = _unseal(nk, raw)
            if why is not None and adopt and (old := _legacy(raw)) is not None:
                raw, why = _seal(nk, old), None
                report.adopted[ns] = report.adopted.get(ns, 0) + 1
            if why is not None:
                report.damaged[ns] = report.damaged.get(ns, 0) + 1
                continue
            report.intact[ns] = report.intact.get(ns, 0) + 1
            if keep is not None:
                keep(nk, raw)
    except sqlite3.DatabaseError as e:
        report.database = f"damaged ({e})"


def sqlite_state(path: Path) -> str:
    """"ok", "missing", or "damaged (why)" for an SQLite file, read without writing to it."""
    if not path.exists():
        return "missing"
    try:
        con = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro&immutable=1", uri=True)
        try:
            verdict = con.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return f"damaged ({e})"
    return "ok" if verdict == "ok" else f"damaged ({verdict})"


def check_store(root: str | os.PathLike[str] | None = None) -> StoreReport:
    """Read every entry of the store (nothing is written) and say what is intact."""
    folder = Path(root) if root is not None else cache_root() / "store"
    report = StoreReport(str(folder))
    report.database = sqlite_state(folder / DB_NAME)
    if report.database == "missing":
        return report
    database = report.database
    _tally(folder, report)
    if database != "ok":
        report.database = database
    return report


def repair_store(root: str | os.PathLike[str] | None = None, *, adopt_unsealed: bool = False) -> StoreReport:
    """Move the store folder aside and rebuild it from every value that can still be read and
    passes its seal; the rest is recomputed on demand. The old folder is kept for inspection.
    `adopt_unsealed` also keeps (and seals) JSON values from a cache written before seals existed:
    the user vouches for them, so that upgrading does not recompute every model answer."""
    folder = Path(root) if root is not None else cache_root() / "store"
    before = check_store(folder)
    if before.ok:
        return before
    aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    try:
        os.replace(folder, aside)
    except OSError as e:
        raise store_error(classify_failure(e, folder.parent), folder.parent, e) from None
    report = StoreReport(str(folder), database=before.database, moved_to=str(aside))
    with Store(folder) as fresh:
        with fresh._guard():
            _tally(aside, report, keep=lambda nk, raw: fresh._cache.set(nk, raw), adopt=adopt_unsealed)
    return report
