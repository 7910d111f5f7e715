"""Fault injection: damage the cache in each way issue 19 lists, rerun, and show that every
result comes back (recomputed where it was lost) and nothing computed is lost.

A small real project (a 6-example corpus, the reference system, 2 runs, real rustc) is
evaluated once; each scenario then starts from a copy of that finished cache, damages
it, reruns `sse evaluate` (as a user would) and compares every sample (system, example,
run -> status, completion key, verdict key) with the undamaged run.

  values      store values: invalid JSON, wrong type, forged (digest kept), pickled;
              build files removed so the values are read
  database    cache.db truncated: one line; `sse cache repair`; rerun
  shard       a verify shard truncated, a generate shard truncated
  shard-flip  a shard altered at the same size (caught when read: results.json removed)
  doit-state  doit.sqlite3 truncated
  read-only   the cache folder mounted read-only: an up-to-date run; then one needing writes
  full-disk   the cache on a full file system: an up-to-date run; then one needing writes
              (these two bring the copy up to date at its own path first: doit's state
              names absolute paths, issue 19 item 7)

read-only and full-disk need root (a private mount namespace via `unshare -m`);
without it read-only uses chmod and full-disk is skipped.

Run: .venv/bin/python benchmarks/fault_injection.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SSE = [sys.executable, "-c", "import sys; from sse.cli.main import main; sys.exit(main())"]
EXAMPLES = [
    ("double", "def double(a: int) -> int:\n    return 2 * a\n", ["1", "-5", "0"],
     "pub fn double(a: i64) -> i64 { 2 * a }"),
    ("greet", "def greet(s: str) -> str:\n    return 'hi ' + s\n", ["'bo'", "''", "'X'"],
     "pub fn greet(s: &str) -> String { format!(\"hi {}\", s) }"),
    ("odds", "def odds(xs: list[int]) -> int:\n    return len([x for x in xs if x % 2])\n", ["[1, 2, 3]", "[]", "[8]"],
     "pub fn odds(xs: Vec<i64>) -> i64 { xs.iter().filter(|x| *x % 2 != 0).count() as i64 }"),
    ("neg", "def neg(a: int) -> int:\n    return -a\n", ["1", "0", "-3"],
     "pub fn neg(a: i64) -> i64 { a }"),  # a wrong reference: a test_failure to keep
    ("total", "def total(xs: list[float]) -> float:\n    return sum(xs)\n", ["[1.5, 2.0]", "[]", "[0.1]"],
     "pub fn total(xs: Vec<f64>) -> f64 { xs.iter().sum() }"),
    ("broken", "def broken(a: int) -> int:\n    return a * 3\n", ["1", "2", "3"],
     "pub fn broken(a: i64) -> i64 { a * }"),  # a compile_error to keep
]


def make_project(root: Path) -> None:
    (root / "tasks").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as f:
        for i, py, args, rs in EXAMPLES:
            f.write(json.dumps({"id": i, "entry_point": i, "python": py, "tests": [{"args": a} for a in args],
                                "rust": rs}) + "\n")
    (root / "tasks" / "models.yaml").write_text("systems:\n  reference: {kind: reference}\n")
    (root / "tasks" / "t.yaml").write_text(textwrap.dedent("""\
        task: {id: fault, corpus: ../corpus.jsonl}
        evaluation: {runs: 2, systems: [reference], machine_price_per_hour: 0.1}
        prompts:
          system: "Translate."
          user_template: "{python_code}\\n{rust_signature}"
        ground_truth: {type: compiler}
        analysis: {bootstrap_resamples: 200}
        """))


def run(project: Path, cache: Path, *args: str, wrap: list[str] | None = None) -> tuple[int, str, float]:
    env = dict(os.environ, SSE_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    argv = [*SSE, *args] if args[:1] == ("cache",) else [*SSE, "evaluate", "--tasks", "tasks/t.yaml", *args]
    if wrap:
        argv = [*wrap, *argv]
    t0 = time.monotonic()
    p = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=1200)
    return p.returncode, (p.stderr + p.stdout).strip(), time.monotonic() - t0


def samples(project: Path) -> dict[tuple[str, str, int], tuple[str, str, str]]:
    out = {}
    for line in (project / "reports" / "fault" / "samples.jsonl").read_text().splitlines():
        s = json.loads(line)
        out[(s["system"], s["example_id"], s["run"])] = (s["status"], s["completion_key"], s["verdict_key"])
    return out


def store_counts(cache: Path) -> dict[str, int]:
    sys.path.insert(0, str(REPO))
    from sse.core.store import check_store

    return check_store(cache / "store").intact


def lines(text: str, pattern: str = "sse:") -> list[str]:
    return [ln for ln in text.splitlines() if pattern in ln]


def as_root() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def ns_wrap(script: str) -> list[str]:
    """Run the command after `script` in a private mount namespace (root only)."""
    return ["unshare", "-m", "sh", "-c", script + ' && exec "$@"', "sh"]


# ---------------------------------------------------------------- damage
def damage_values(cache: Path) -> list[str]:
    import diskcache

    c = diskcache.Cache(str(cache / "store"))
    keys = sorted(k for k in c.iterkeys() if isinstance(k, str))
    by_ns: dict[str, list[str]] = {}
    for k in keys:
        by_ns.setdefault(k.split("/", 1)[0], []).append(k)
    hit = []
    for _ns, ks in sorted(by_ns.items()):
        ks = ks[:4]
        kinds = ["invalid JSON", "wrong type", "forged", "pickled"]
        for k, kind in zip(ks, kinds, strict=False):
            raw = c.get(k)
            if kind == "invalid JSON":
                c.set(k, raw[: len(raw) // 2])
            elif kind == "wrong type":
                c.set(k, "[1, 2, 3]")
            elif kind == "forged":  # valid JSON of the right shape, the old digest kept
                head, digest, text = raw.split(":", 2)
                value = json.loads(text)
                if isinstance(value, dict):
                    value = {**value, "status": "pass", "text": "forged", "tests_passed": 99}
                elif isinstance(value, list):
                    value = value[:-1] + value[:1]
                c.set(k, f"{head}:{digest}:{json.dumps(value)}")
            else:
                c.set(k, {"pickled": True})  # diskcache pickles non-str values
            hit.append(f"{k} ({kind})")
    c.close()
    shutil.rmtree(cache / "build")
    return hit


def truncate(path: Path, frac: float = 0.6) -> str:
    n = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(n * frac))
    return f"{path.name}: {n} -> {int(n * frac)} bytes"


def some_shard(cache: Path, stage: str) -> Path:
    return sorted((cache / "build" / "fault" / "reference").glob(f"{stage}-r0.d/*.json"))[0]


def flip(path: Path) -> str:
    data = bytearray(path.read_bytes())
    i = data.index(b'"pass"') if b'"pass"' in data else len(data) // 2
    data[i + 1:i + 5] = b"fail"
    path.write_bytes(bytes(data))
    return f"{path.name}: 4 bytes changed at {i}, same size"


# ---------------------------------------------------------------- scenarios
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temp folder, removed)")
    a = ap.parse_args()
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="sse-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / "base"
    shutil.rmtree(base, ignore_errors=True)
    make_project(base)
    rc, out, t = run(base, base / "cache")
    if rc != 0:
        print(out)
        return 1
    truth = samples(base)
    counts = store_counts(base / "cache")
    statuses: dict[str, int] = {}
    for st, _, _ in truth.values():
        statuses[st] = statuses.get(st, 0) + 1
    print(f"baseline: {len(truth)} samples {statuses}; store {counts}; {t:.1f} s")
    failures = 0

    def scenario(name: str, damage: Callable[[Path], Any], steps: list[tuple[str, ...]] | None = None,
                 wrap: Callable[[Path], list[str] | None] | None = None,
                 expect: list[int] | None = None, prepare: bool = False) -> None:
        nonlocal failures
        proj = work / name
        shutil.rmtree(proj, ignore_errors=True)
        shutil.copytree(base, proj, symlinks=True)
        cache = proj / "cache"
        if prepare:  # up to date at this path first (doit's state names absolute paths)
            run(proj, cache)
        else:
            shutil.rmtree(proj / "reports")
        what = damage(cache)
        print(f"\n== {name}: {what if isinstance(what, str) else '; '.join(what)}")
        ok = True
        for i, step in enumerate(steps or [()]):
            w = wrap(cache) if wrap else None
            rc, out, t = run(proj, cache, *step, wrap=w if step[:1] != ("cache",) else None)
            want = (expect or [0] * len(steps or [()]))[i]
            shown = (out.splitlines() if step[:1] == ("cache",) else lines(out)) or ["(no sse: lines)"]
            label = " ".join(step) if step else "sse evaluate"
            print(f"  $ {label}  -> exit {rc} ({t:.1f} s){'' if rc == want else f'  UNEXPECTED (wanted {want})'}")
            for ln in shown[:6]:
                print(f"    {ln[:300]}")
            if len(shown) > 6:
                print(f"    ... {len(shown) - 6} more")
            tb = "Traceback (most recent call last)" in out
            if tb:
                print("    TRACEBACK in the output")
            ok = ok and rc == want and not tb
        if (proj / "reports" / "fault" / "samples.jsonl").exists():
            now = samples(proj)
            same = now == truth
            print(f"  results: {len(now)} samples, {'identical to the undamaged run' if same else 'DIFFERENT'}; "
                  f"store now {store_counts(cache)}")
            ok = ok and same
        else:
            print("  results: no report written")
            ok = False
        failures += not ok
        print(f"  {'OK' if ok else 'FAILED'}")

    scenario("values", damage_values)
    scenario("database", lambda c: truncate(c / "store" / "cache.db", 0.85),
             steps=[(), ("cache", "check"), ("cache", "repair"), ()], expect=[2, 1, 0, 0])
    scenario("shard", lambda c: [truncate(some_shard(c, "verify"), 0.5), truncate(some_shard(c, "generate"), 0.3)])
    def flip_and_drop_results(c: Path) -> str:
        return flip(some_shard(c, "verify"))
    scenario("shard-flip", flip_and_drop_results)
    scenario("doit-state", lambda c: truncate(c / "doit.sqlite3", 0.5), steps=[(), ("cache", "repair"), ()],
             expect=[0, 0, 0])

    if as_root():
        ro = ns_wrap('mount --bind "$SSE_CACHE_DIR" "$SSE_CACHE_DIR" && mount -o remount,ro,bind "$SSE_CACHE_DIR"')
    else:
        ro = None

    def make_ro(c: Path) -> str:
        if ro is None:
            for p in [c, *c.rglob("*")]:
                p.chmod(p.stat().st_mode & ~0o222)
        return "cache folder read-only" + (" (bind mount)" if ro else " (chmod)")

    scenario("read-only", make_ro, steps=[(), ("--runs", "3")], wrap=lambda c: ro, expect=[0, 1], prepare=True)
    if as_root():
        def full(c: Path) -> str:
            return "cache folder on a full file system (tmpfs)"

        size_kb = sum(p.stat().st_size for p in (base / "cache").rglob("*") if p.is_file()) // 1024 + 512
        fill = ns_wrap(
            'tmp=$(mktemp -d) && cp -a "$SSE_CACHE_DIR"/. "$tmp"/ && '
            f'mount -t tmpfs -o size={size_kb}k tmpfs "$SSE_CACHE_DIR" && cp -a "$tmp"/. "$SSE_CACHE_DIR"/ && '
            '(dd if=/dev/zero of="$SSE_CACHE_DIR/.filler" bs=4k 2>/dev/null || true)')
        scenario("full-disk", full, steps=[(), ("--runs", "3")], wrap=lambda c: fill, expect=[0, 1], prepare=True)
    else:
        print("\n== full-disk: skipped (needs root for a private tmpfs mount)")
    print(f"\n{'all scenarios OK' if not failures else f'{failures} scenario(s) FAILED'} (work folder {work})")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
