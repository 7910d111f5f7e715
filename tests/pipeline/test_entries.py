"""Typed build entries read and write the build files' JSON byte for byte, so a cache written before
the types existed is served as it is (sse.core.entries)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from sse import graph
from sse.core.entries import RETRY, GenEntry, VerifyEntry
from sse.run.context import Plan
from sse.run.shards import all_stored, read_entries, read_keys, write_build_file

DATA = Path(__file__).parent / "data"

_VERDICT = {
    "status": "pass",
    "key": "v1",
    "error_codes": [],
    "tests_passed": 3,
    "tests_total": 3,
    "compile_s": 0.5,
    "run_s": 0.25,
    "diagnostics": "",
    "failing_test": None,
    "tests": [{"name": "t0", "status": "pass", "message": ""}],
    "isolation": "bwrap+uid",
    "meta": {"process": "own"},
}
_BASE = {"example_id": "add", "example_key": "ek", "completion_key": "ck"}
_JUDGED = _BASE | {"key": "v1", "rust_key": "r1", "rust": "pub fn add() {}", "verdict": _VERDICT}
# every shape the verify stage wrote before the types (sse/run/verify.py at 163a810)
OLD_VERIFY_SHAPES: list[dict[str, Any]] = [
    _BASE | {"key": "", "rust_key": "", "verdict": None},  # harness failure of the generation
    _BASE
    | {
        "key": "t1",
        "rust_key": "",
        "verdict": _VERDICT | {"status": "timeout", "key": "t1", "tests_passed": 0},
        "synthetic": True,
    },
    _JUDGED,
    _BASE | {"key": "v2", "rust_key": "", "rust": None, "verdict": _VERDICT | {"status": "no_code"}},
    _BASE | {"key": "v3", "rust_key": "r1", "rust": "fn x() {}", "verdict": None},  # waiting for the judge
    _JUDGED | {"plus_key": "p1", "plus_verdict": None},
    _JUDGED | {"plus_key": "p1", "plus_verdict": _VERDICT | {"key": "p1", "status": "infra_error"}},
]


def _round_trip(blob: bytes, entry: type[GenEntry] | type[VerifyEntry]) -> bytes:
    return orjson.dumps([entry.from_json(d).to_json() for d in orjson.loads(blob)])


@pytest.mark.parametrize(
    ("name", "entry"), [("old-generate-shard.json", GenEntry), ("old-verify-shard.json", VerifyEntry)]
)
def test_shards_written_before_the_types_round_trip_byte_for_byte(name: str, entry: Any) -> None:
    blob = (DATA / name).read_bytes()  # a real shard written by sse at 163a810 (reference system)
    assert _round_trip(blob, entry) == blob


def test_every_old_verify_shape_round_trips() -> None:
    blob = orjson.dumps(OLD_VERIFY_SHAPES)
    assert _round_trip(blob, VerifyEntry) == blob
    kinds = [VerifyEntry.from_json(d).kind for d in OLD_VERIFY_SHAPES]
    assert kinds == ["unverified", "timeout", "judged", "judged", "judged", "judged", "judged"]


def test_sidecar_keys_of_the_old_shapes() -> None:
    """The sidecar lines are the ones the string sentinel gave: RETRY for a missing or infra verdict,
    nothing for a synthetic timeout, the plus key after the base key."""
    keys = [VerifyEntry.from_json(d).sidecar_keys() for d in OLD_VERIFY_SHAPES]
    assert keys == [[RETRY], [], ["v1"], ["v2"], [RETRY], ["v1"], ["v1", RETRY]]


def test_retry_marker_keeps_the_sidecar_format(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    write_build_file(f, [], ["a", RETRY, "b"])
    assert f.with_suffix(".keys").read_text().split("\n")[1:] == ["a", "<retry>", "b"]
    assert read_keys(f) == ["a", RETRY, "b"]
    have = frozenset({"completion/a", "completion/b"})
    assert not all_stored(read_keys(f), "completion", have)
    write_build_file(f, [], ["a", "b"])
    assert all_stored(read_keys(f), "completion", have)


def test_a_real_run_writes_entries_the_types_reproduce(project: Path, calls: Counter[str]) -> None:
    assert graph.run_doit(["verify"], Plan(task_glob="tasks/t.yaml", output="reports")) == 0
    shards = sorted((project / "cache/build/tiny").glob("*/*.d/*.json"))
    assert shards
    for p in shards:
        entry = GenEntry if p.parent.name.startswith("generate") else VerifyEntry
        assert _round_trip(p.read_bytes(), entry) == p.read_bytes(), p
    _, raw = read_entries(project / "cache/build/tiny/det/verify-r0.json")
    assert {d["verdict"]["status"] for d in raw} == {"pass"}
