"""doit's sqlite3 state with its file paths stored relative to where they live.

Why: doit keys the state of every file dependency by the path it was given, and our paths are
absolute. A cache restored at another path (CI caching of the cache folder) or handed to a fresh
clone then looked new to doit, which re-ran every task (a model re-converted, every answer asked
again). Here a path under the cache folder, the working directory or the sse package is stored as
`@cache/...`, `@cwd/...` or `@sse/...` and read back against today's places; anything else keeps
its absolute path. State written by doit's own sqlite3 backend (absolute keys) is still read.

Registered as doit's `sse-sqlite3` backend: `run_doit` (what `sse evaluate` uses) hands doit the
plugin itself; the `doit` command line finds it through the `doit.BACKEND` entry point of an
installed sse (pyproject.toml), and falls back to doit's own sqlite3 backend (same file format,
absolute paths) where sse was not installed with it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from doit.dependency import SqliteDB

import sse
from sse.core.store import cache_root

BACKEND_NAME = "sse-sqlite3"
BACKEND_LOCATION = f"{__name__}:PortableSqliteDB"
DEPS = "deps:"  # doit's record of a task's file_dep list


def backend_available() -> bool:
    """Whether the `doit` command line will find this backend: the entry point of an installed sse.
    (doit reads plugin config files in the folder it starts in, and then moves to the dodo.py's.)"""
    from importlib.metadata import entry_points

    return any(ep.name == BACKEND_NAME for ep in entry_points(group="doit.BACKEND"))


def _roots() -> list[tuple[str, str]]:
    """(tag, folder) pairs, the most specific folder first (the cache usually sits in the cwd)."""
    roots = {
        "@cache/": cache_root(),
        "@cwd/": Path.cwd().resolve(),
        "@sse/": Path(sse.__file__).resolve().parent,
    }
    return sorted(((tag, str(p)) for tag, p in roots.items()), key=lambda tp: -len(tp[1]))


class PortableSqliteDB(SqliteDB):  # type: ignore[misc]
    """doit's SqliteDB with path keys (and the `deps:` list) relative to the cache, cwd or package."""

    desc = "sqlite3, file paths relative to the cache folder / working directory (a moved cache serves)"

    def __init__(self, name: str, codec: Any, *, module_name: str | None = None) -> None:
        super().__init__(name, codec, module_name=module_name)
        self._roots = _roots()

    def portable(self, path: str) -> str:
        if not os.path.isabs(path):
            return path
        for tag, root in self._roots:
            if path.startswith(root + os.sep):
                return tag + path[len(root) + 1 :]
        return path

    def local(self, key: str) -> str:
        for tag, root in self._roots:
            if key.startswith(tag):
                return os.path.join(root, key[len(tag) :])
        return key

    def get(self, task_id: str, dependency: str) -> Any:
        if dependency == DEPS:
            deps = super().get(task_id, dependency)
            return None if deps is None else [self.local(d) for d in deps]
        value = super().get(task_id, self.portable(dependency))
        if value is None and os.path.isabs(dependency):  # state written with absolute paths
            value = super().get(task_id, dependency)
        return value

    def set(self, task_id: str, dependency: str, value: Any) -> None:
        if dependency == DEPS:
            value = [self.portable(d) for d in value]
        super().set(task_id, self.portable(dependency), value)
