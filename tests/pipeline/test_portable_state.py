"""doit's state in sse.graph.portable_state: paths under the cache folder or the working directory
are stored relative to it, so the same state file serves after both moved; older state written by
doit's own sqlite3 backend (absolute paths) is still read."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from doit.dependency import JSONCodec, SqliteDB

from sse.graph.portable_state import PortableSqliteDB


def test_state_follows_the_cache_and_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    monkeypatch.setenv("SSE_CACHE_DIR", str(old / "cache"))
    for folder in (old / "project", old / "cache"):
        folder.mkdir(parents=True)
    monkeypatch.chdir(old / "project")
    db = PortableSqliteDB(str(old / "cache" / "doit.sqlite3"), JSONCodec())
    deps = [
        str(old / "cache" / "build" / "examples.keys"),
        str(old / "project" / "corpus.jsonl"),
        "/etc/hostname",
    ]
    for d in deps:
        db.set("generate:t:s:r0", d, [1.0, 2, "md5"])
    db.set("generate:t:s:r0", "deps:", deps)
    db.dump()
    raw = sqlite3.connect(old / "cache" / "doit.sqlite3").execute("select task_data from doit").fetchone()[0]
    assert sorted(json.loads(raw)) == sorted(
        ["@cache/build/examples.keys", "@cwd/corpus.jsonl", "/etc/hostname", "deps:"]
    )
    shutil.copytree(old, new)
    monkeypatch.setenv("SSE_CACHE_DIR", str(new / "cache"))
    monkeypatch.chdir(new / "project")
    moved = PortableSqliteDB(str(new / "cache" / "doit.sqlite3"), JSONCodec())
    here = [
        str(new / "cache" / "build" / "examples.keys"),
        str(new / "project" / "corpus.jsonl"),
        "/etc/hostname",
    ]
    assert [moved.get("generate:t:s:r0", d) for d in here] == [[1.0, 2, "md5"]] * 3
    assert moved.get("generate:t:s:r0", "deps:") == here


def test_state_written_with_absolute_paths_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    dep = str(tmp_path / "cache" / "build" / "examples.json")
    stock = SqliteDB(str(tmp_path / "cache" / "doit.sqlite3"), JSONCodec())
    stock.set("corpus:t", dep, [1.0, 2, "md5"])
    stock.set("corpus:t", "deps:", [dep])
    stock.dump()
    db = PortableSqliteDB(str(tmp_path / "cache" / "doit.sqlite3"), JSONCodec())
    assert db.get("corpus:t", dep) == [1.0, 2, "md5"] and db.get("corpus:t", "deps:") == [dep]
