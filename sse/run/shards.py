"""The build-file format: a generate/verify target is a small index naming content-addressed
shards of SHARD examples (`<target>.d/<key>.json`, key = hash of the config and of the example
or completion keys in it). A shard whose name already exists, and whose store entries are all
present, is reused without being read: an edit to one example rewrites one shard per task,
whatever the corpus size.

Every build file has a `.keys` sidecar: its own seal ("#self SIZE DIGEST"), in an index the
seals of its shards ("#shard:<name> SIZE DIGEST"), then one store key a line, `<retry>` (RETRY,
sse.core.entries) for a harness failure (which keeps the target out of date). Shard entries are
sse.core.entries.GenEntry / VerifyEntry; `read_entries` gives the raw JSON, `gen_entries` and
`ver_entries` the typed entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from sse.core.entries import RETRY, GenEntry, SidecarKey, VerifyEntry, sidecar_key, sidecar_line
from sse.core.store import DamagedBuildFile, atomic_write_bytes, read_sealed, seal_of, sealed_size_ok
from sse.run.context import build_dir

BUILD_FORMAT = 2  # layout of build files; part of every up-to-date check, so a new layout rebuilds them
SHARD = 128

#: entries of a shard (GenEntry or VerifyEntry), and the store keys its sidecar lists
Fresh = dict[str, tuple[list[Any], list[SidecarKey]]]


def gen_target(task_id: str, system: str, run: int) -> Path:
    return build_dir(task_id) / system / f"generate-r{run}.json"


def ver_target(task_id: str, system: str, run: int) -> Path:
    return build_dir(task_id) / system / f"verify-r{run}.json"


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def write_build_file(
    path: Path, data: Any, keys: Sequence[SidecarKey] | None = None, seals: tuple[str, ...] = ()
) -> str:
    """Write a build file; `keys` go to a sidecar the up-to-date check reads without parsing the file,
    after the file's own seal ("#self SIZE DIGEST") and `seals` of other files. Returns the seal."""
    blob = orjson.dumps(data)
    seal = seal_of(blob)
    if keys is not None:
        atomic_write_bytes(
            path.with_suffix(".keys"), "\n".join([f"#self {seal}", *seals, *map(sidecar_line, keys)]).encode()
        )
    atomic_write_bytes(path, blob)
    return seal


def sidecar(build_file: Path) -> tuple[dict[str, str], list[SidecarKey]] | None:
    """A build file's `.keys` sidecar read once: its '#NAME SIZE DIGEST' seal lines ('self', the file;
    in an index, 'shard:<name>') and its store keys, one a line (RETRY for a harness failure)."""
    try:
        lines = build_file.with_suffix(".keys").read_bytes().decode(errors="replace").split("\n")
    except FileNotFoundError:
        return None
    seals: dict[str, str] = {}
    n = 0  # the seal lines come first (write_build_file); keys never start with '#'
    while n < len(lines) and lines[n].startswith("#"):
        name, _, seal = lines[n][1:].partition(" ")
        if seal:
            seals[name] = seal
        n += 1
    return seals, [sidecar_key(k) for k in lines[n:] if k]


def seals_of(build_file: Path) -> dict[str, str]:
    side = sidecar(build_file)
    return side[0] if side else {}


def read_checked(path: Path, kind: type) -> Any:
    """A build file whose bytes match the seal in its sidecar and whose JSON is of `kind`."""
    return read_sealed(path, seals_of(path).get("self"), kind)


def shard_path(target: Path, name: str) -> Path:
    return target.with_suffix(".d") / f"{name}.json"


def read_keys(build_file: Path) -> list[SidecarKey] | None:
    side = sidecar(build_file)
    return side[1] if side else None


def all_stored(keys: list[SidecarKey] | None, namespace: str, have: frozenset[str]) -> bool:
    """True when the sidecar exists, lists no harness failure, and every key is in `have` (the store)."""
    if keys is None:
        return False
    return all(isinstance(k, str) and f"{namespace}/{k}" in have for k in keys)


def shard_reusable(target: Path, name: str, namespace: str, have: frozenset[str]) -> bool:
    path = shard_path(target, name)
    side = sidecar(path)
    return (
        side is not None
        and sealed_size_ok(path, side[0].get("self"))
        and all_stored(side[1], namespace, have)
    )


def intact(target: Path) -> bool:
    """The index and every shard it lists have the sizes their seals record (stats only)."""
    seals = seals_of(target)
    return sealed_size_ok(target, seals.get("self")) and all(
        sealed_size_ok(shard_path(target, k[len("shard:") :]), v)
        for k, v in seals.items()
        if k.startswith("shard:")
    )


def old_shard(target: Path, config: str, position: int) -> list[dict[str, Any]]:
    """Entries of the previous shard at this position (same config), to reuse unchanged examples."""
    try:
        index = read_checked(target, dict)
        if index.get("config") != config:
            return []
        return read_checked(shard_path(target, index["shards"][position]), list)  # type: ignore[no-any-return]
    except (DamagedBuildFile, IndexError, KeyError, TypeError):
        return []


def finish_sharded(target: Path, header: dict[str, Any], names: list[str], fresh: Fresh) -> None:
    """Write new shards (entries + key sidecar), the index and its key sidecar; drop stale shards."""
    seals = {
        name: write_build_file(shard_path(target, name), [e.to_json() for e in entries], keys)
        for name, (entries, keys) in fresh.items()
    }
    all_keys: list[SidecarKey] = []
    for name in names:  # fresh shards' keys are in hand; reused shards' sidecars are read (once)
        if name in fresh:
            all_keys.extend(fresh[name][1])
            continue
        side = sidecar(shard_path(target, name))
        all_keys.extend(side[1] if side else [RETRY])
        seals[name] = side[0].get("self", "0 <unsealed>") if side else "0 <unsealed>"
    write_build_file(
        target, header | {"shards": names}, all_keys, tuple(f"#shard:{n} {seals[n]}" for n in names)
    )
    keep = {f"{n}{suffix}" for n in names for suffix in (".json", ".keys")}
    folder = target.with_suffix(".d")
    if folder.exists():
        for f in folder.iterdir():
            if f.name not in keep and not f.name.startswith("."):
                f.unlink(missing_ok=True)


def read_entries(target: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(index, every entry in example order) of a sharded build file; DamagedBuildFile when the index
    or a shard fails its seal (the run layer then rebuilds it from the store)."""
    index = read_checked(target, dict)
    entries: list[dict[str, Any]] = []
    for name in index.get("shards", []):
        entries.extend(read_checked(shard_path(target, name), list))
    return index, entries


def store_has_all(target: Path, namespace: str, have: frozenset[str]) -> bool:
    """Every store entry the build file lists still exists, and the file and its shards have the
    sizes their seals record (a truncated shard is rebuilt)."""
    return all_stored(read_keys(target), namespace, have) and intact(target)


def gen_entries(target: Path) -> tuple[dict[str, Any], list[GenEntry]]:
    """`read_entries` of a generate target, typed."""
    index, raw = read_entries(target)
    return index, [GenEntry.from_json(d) for d in raw]


def ver_entries(target: Path) -> tuple[dict[str, Any], list[VerifyEntry]]:
    """`read_entries` of a verify target, typed."""
    index, raw = read_entries(target)
    return index, [VerifyEntry.from_json(d) for d in raw]
