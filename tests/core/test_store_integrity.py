"""Issue 19 items 11-12: a store that survives damage, a full disk and a read-only folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import diskcache
import pytest

from sse.core.errors import StoreError
from sse.core.store import Store, check_store, repair_store

VALUE = {"status": "pass", "tests_passed": 3, "text": "fn f() {}"}


def _filled(root: Path, n: int = 40) -> None:
    with Store(root) as st:
        for i in range(n):
            st.put("verdict", f"k{i}", VALUE | {"i": i, "pad": "x" * (40_000 if i % 10 == 0 else 10)})


def _raw(root: Path) -> diskcache.Cache:
    return diskcache.Cache(str(root))


def test_damaged_values_read_as_missing_with_one_line_each_and_are_rewritable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _filled(tmp_path)
    c = _raw(tmp_path)
    good = c.get("verdict/k1")
    c.set("verdict/k1", good[: len(good) // 2])  # truncated: invalid JSON
    c.set("verdict/k2", "[1, 2]")  # the wrong type, no seal
    c.set("verdict/k0", "garbage")  # a value stored in a file (40 kB)
    c.close()
    with Store(tmp_path) as st:
        assert st.get("verdict", "k1") is None and st.get("verdict", "k2") is None and st.get("verdict", "k0") is None
        assert st.get("verdict", "k3") == VALUE | {"i": 3, "pad": "x" * 10}
        st.put("verdict", "k1", VALUE)  # the caller recomputes and stores it again
        assert st.get("verdict", "k1") == VALUE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("damaged cache entry verdict/k" in ln and "recomputed" in ln for ln in err)


def test_a_lost_value_file_is_a_warning_and_a_miss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _filled(tmp_path, 1)  # k0 is 40 kB: diskcache keeps it in a file of its own
    files = [p for p in tmp_path.rglob("*.val")]
    assert len(files) == 1
    files[0].unlink()
    with Store(tmp_path) as st:
        assert st.get("verdict", "k0") is None
        assert st.get("verdict", "never-stored") is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "verdict/k0" in err[0] and "missing" in err[0]


def test_a_forged_but_valid_value_is_refused(tmp_path: Path) -> None:
    _filled(tmp_path, 5)
    c = _raw(tmp_path)
    head, digest, text = c.get("verdict/k1").split(":", 2)
    forged = json.dumps(json.loads(text) | {"status": "fail"})
    c.set("verdict/k1", f"{head}:{digest}:{forged}")
    c.set("verdict/k2", c.get("verdict/k3"))  # a valid value moved under another key
    c.close()
    with Store(tmp_path) as st:
        assert st.get("verdict", "k1") is None
        assert st.get("verdict", "k2") is None
        assert st.get("verdict", "k3") is not None


def test_a_pickled_value_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    _filled(tmp_path / "s", 2)
    c = _raw(tmp_path / "s")
    c.set("verdict/k1", Boom())
    c.close()
    with Store(tmp_path / "s") as st:
        assert st.get("verdict", "k1") is None
        assert "verdict/k1" not in set(st.iterkeys())  # dropped, so it is rewritten when recomputed
    assert not marker.exists()


def test_a_damaged_database_is_one_line_and_repair_keeps_what_can_be_read(tmp_path: Path) -> None:
    _filled(tmp_path / "store", 300)
    db = tmp_path / "store" / "cache.db"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size * 2 // 3)
    with pytest.raises(StoreError) as e:
        with Store(tmp_path / "store") as st:
            st.get("verdict", "k1")
    line = e.value.one_line()
    assert "\n" not in line and str(db) in line and "sse cache repair" in line
    assert not check_store(tmp_path / "store").ok
    r = repair_store(tmp_path / "store")
    kept = sum(r.intact.values())
    assert r.moved_to and Path(r.moved_to).exists() and 0 < kept < 300
    assert check_store(tmp_path / "store").ok
    with Store(tmp_path / "store") as st:
        got = [i for i in range(300) if st.get("verdict", f"k{i}") is not None]
        assert len(got) == kept
        assert all(st.get("verdict", f"k{i}")["i"] == i for i in got)


def test_cache_commands_check_and_repair(tmp_path: Path) -> None:
    _filled(tmp_path / "store", 50)
    env = dict(os.environ, SSE_CACHE_DIR=str(tmp_path))
    cmd = [sys.executable, "-m", "sse.cli.main", "cache"]
    ok = subprocess.run([*cmd, "check"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "verdict 50" in ok.stdout
    with open(tmp_path / "store" / "cache.db", "r+b") as f:
        f.truncate(20_000)
    bad = subprocess.run([*cmd, "check"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "sse cache repair" in bad.stderr and "Traceback" not in bad.stderr
    fixed = subprocess.run([*cmd, "repair"], env=env, capture_output=True, text=True)
    assert fixed.returncode == 0 and "moved aside" in fixed.stdout
    assert subprocess.run([*cmd, "check"], env=env, capture_output=True, text=True).returncode == 0


def test_an_older_unsealed_cache_is_recomputed_unless_adopted(tmp_path: Path) -> None:
    old = diskcache.Cache(str(tmp_path / "store"))  # what the store wrote before values were sealed
    for i in range(5):
        old.set(f"completion/k{i}", json.dumps({"text": f"answer {i}"}))
    old.set("completion/bad", "{not json")
    old.close()
    with Store(tmp_path / "store") as st:
        assert st.get("completion", "k1") is None  # unsealed: not served
    r = repair_store(tmp_path / "store", adopt_unsealed=True)
    assert r.adopted == {"completion": 4} and r.damaged == {"completion": 1}  # k1 was dropped on read
    with Store(tmp_path / "store") as st:
        assert st.get("completion", "k3") == {"text": "answer 3"}
        assert st.get("completion", "bad") is None


# ---------------------------------------------------------------- read-only and full
_PROBE = """
import sys
from sse.core.store import Store
from sse.core.errors import StoreError
st = Store(sys.argv[1])
print("read", st.get("verdict", "k1")["i"], len(st.keys("verdict")))
try:
    st.put("verdict", "new", {"x": 1})
    print("wrote")
except StoreError as e:
    print("refused", e.one_line())
"""


def _in_namespace(script: str, root: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", _PROBE, str(root)]
    if os.geteuid() == 0:
        argv = ["unshare", "-m", "sh", "-c", script + ' && exec "$@"', "sh", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=dict(os.environ, R=str(root)))


def _root_namespaces() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


def test_a_read_only_cache_serves_reads_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    _filled(tmp_path / "s", 5)
    root = tmp_path / "s"
    if os.geteuid() == 0:
        if not _root_namespaces():
            pytest.skip("no private mount namespace")
        p = _in_namespace('mount --bind "$R" "$R" && mount -o remount,ro,bind "$R"', root)
    else:
        for q in [root, *root.rglob("*")]:
            q.chmod(q.stat().st_mode & ~0o222)
        p = _in_namespace("", root)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "read 1 5"
    assert out[1].startswith("refused ") and str(root) in out[1] and "read-only" in out[1] and "SSE_CACHE_DIR" in out[1]


@pytest.mark.skipif(not _root_namespaces(), reason="needs root for a private tmpfs mount")
def test_a_full_disk_serves_reads_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    _filled(tmp_path / "s", 5)
    root = tmp_path / "s"
    p = _in_namespace('t=$(mktemp -d) && cp -a "$R"/. "$t"/ && mount -t tmpfs -o size=600k tmpfs "$R" && '
                      'cp -a "$t"/. "$R"/ && (dd if=/dev/zero of="$R/fill" bs=4k 2>/dev/null || true)', root)
    assert "Traceback" not in p.stderr, p.stderr
    out = p.stdout.splitlines()
    assert out[0] == "read 1 5"
    assert out[1].startswith("refused ") and str(root) in out[1] and "no space left" in out[1]
