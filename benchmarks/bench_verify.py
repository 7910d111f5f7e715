"""Verdicts per second: (a) cargo new + build + test per candidate (the seed project's way),
(b) one rustc per candidate, (c) the batched path (one crate of modules, one process per
candidate, results compared in Python), and (d) the previous batched path (one libtest binary
for the whole batch, expected values compiled in), on the same candidates.

(d) and the test code of (a) are the implementation at OLD_REV, read from git history (the repo
keeps no second copy): `--old-rev` changes it; without git history they are skipped.

Candidates come from the bundled corpus: references (pass), operator mutants (test failures) and
signature-type mutants (compile errors), 100 by default, screened once so that none hangs. All
methods must give the same statuses; the script prints verdicts/s and the ratios, and exits 1 on
any disagreement. (c) runs five times (before, between quarters of (a), after) and (d) twice; the
medians are used, because the machine is shared and its load drifts during the minutes (a) takes.

    .venv/bin/python benchmarks/bench_verify.py [--n 100] [--skip-cargo] [--old-rev REV]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sse.core.records import Example, Verdict
from sse.scorers.api import VerifyRequest, verify_batch
from sse.scorers.batch import Candidate, verify_candidates
from sse.scorers.mutants import make_mutants
from sse.scorers.rustc import find_tool, tool_env, toolchain_id
from sse.task.config import GroundTruth
from sse.task.translate import expectations, generate_driver, test_names

OLD_REV = "d7a8486"  # the last commit with the libtest batch (expected values inside the binary)
RESULT_RE = re.compile(r"^test m0::sse_gt_tests::(\S+) \.\.\. (ok|FAILED)", re.M)


def load_old(rev: str) -> tuple[types.ModuleType, types.ModuleType] | None:
    """(translate, batch) as they were at `rev`, from git history, as private modules."""
    root = Path(__file__).resolve().parents[1]
    mods = []
    for name in ("translate", "batch"):
        r = subprocess.run(["git", "show", f"{rev}:sse/scorers/{name}.py"], cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            return None
        src = r.stdout.replace("from sse.task.translate import", "from _old_translate import")
        mod = types.ModuleType(f"_old_{name}")
        sys.modules[mod.__name__] = mod
        exec(compile(src, f"{rev}:sse/scorers/{name}.py", "exec"), mod.__dict__)  # our own history, not input
        mods.append(mod)
    return mods[0], mods[1]


def pick_candidates(n: int) -> list[tuple[Example, str]]:
    from sse.task.corpus import load_corpus

    exs = [e for e in load_corpus("bundled:functions").examples if e.kind == "function" and e.rust_reference]
    pool: dict[str, list[tuple[Example, str]]] = {"pass": [], "fail": [], "type": []}
    for e in exs:
        assert e.rust_reference is not None
        pool["pass"].append((e, e.rust_reference))
        ms = make_mutants(e.rust_reference, e.entry_point, per_kind=1)
        pool["fail"] += [(e, m.rust) for m in ms if m.kind == "wrong_operator"]
        pool["type"] += [(e, m.rust) for m in ms if m.kind == "wrong_type"]
    want = {"pass": int(n * 0.4), "fail": int(n * 0.3)}
    want["type"] = n - want["pass"] - want["fail"]
    # Screen a generous pool with the batched path: keep no timeout/crash (cargo has no per-test limit).
    chosen: list[tuple[Example, str]] = []
    for kind, k in want.items():
        cand = pool[kind][: k * 2]
        vs = verify_batch([VerifyRequest(e, r, GroundTruth()) for e, r in cand])
        ok = {"pass": {"pass"}, "fail": {"test_failure"}, "type": {"compile_error"}}[kind]
        chosen += [c for c, v in zip(cand, vs, strict=True) if v.status in ok][:k]
    return chosen


def cargo_verdict(ex: Example, rust: str, root: Path, env: dict[str, str], old: types.ModuleType) -> Verdict:
    """The seed project's way: a cargo project per candidate, cargo build, cargo test."""
    cargo = find_tool("cargo")
    name = f"c{abs(hash((ex.id, rust))) % 10**12}"
    proj = root / name
    subprocess.run([cargo, "new", "--lib", "--offline", "--vcs", "none", "--quiet", name], cwd=root, env=env,
                   check=True, capture_output=True, timeout=120)
    (proj / "src" / "lib.rs").write_text(old.SUPPORT_RS + "\nmod m0;\n", encoding="utf-8")
    (proj / "src" / "m0.rs").write_text(rust.rstrip() + "\n\n" + old.generate_tests(ex), encoding="utf-8")
    b = subprocess.run([cargo, "build", "--offline", "--quiet"], cwd=proj, env=env, capture_output=True, timeout=300)
    if b.returncode != 0:
        codes = tuple(dict.fromkeys(re.findall(r"error\[(E\d{4})\]", b.stderr.decode("utf-8", "replace"))))
        return Verdict("compile_error", error_codes=codes)
    t = subprocess.run([cargo, "test", "--offline", "--quiet", "--", "sse_gt_tests::"], cwd=proj, env=env,
                       capture_output=True, timeout=300)
    out = t.stdout.decode("utf-8", "replace")
    if t.returncode != 0 and "test result" not in out and b"error[" in t.stderr:
        return Verdict("compile_error")
    # --quiet prints dots; ask again for names only when needed for the count.
    results = dict(RESULT_RE.findall(out))
    total = len(test_names(ex))
    if not results:
        m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", out)
        passed = int(m.group(1)) if m else 0
    else:
        passed = sum(v == "ok" for v in results.values())
    return Verdict("pass" if passed == total and t.returncode == 0 else "test_failure",
                   tests_passed=passed, tests_total=total)


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--skip-cargo", action="store_true")
    ap.add_argument("--old-rev", default=OLD_REV)
    args = ap.parse_args()
    old = load_old(args.old_rev)
    if old is None:
        print(f"no git history for {args.old_rev}: the previous batched path and cargo are skipped")
    print(f"toolchain: {toolchain_id().splitlines()[0]}; cpus: {os.cpu_count()}; load: {os.getloadavg()[0]:.1f}")
    cands = pick_candidates(args.n)
    print(f"candidates: {len(cands)}")
    gt = GroundTruth()
    wall: dict[str, float] = {}
    statuses: dict[str, list[str]] = {}
    reqs = [VerifyRequest(e, r, gt) for e, r in cands]
    c_runs: list[float] = []
    d_runs: list[float] = []

    def batched() -> None:
        vc, secs = _timed(lambda: verify_batch(reqs))
        c_runs.append(secs)
        statuses[f"c_batched#{len(c_runs)}"] = [v.status for v in vc]

    def old_batched() -> None:
        """The previous path, sharded like verify_batch shards (same workers, same crate sizes)."""
        if old is None:
            return
        from sse.scorers.api import _shards

        otr, oba = old
        items = [(str(i), oba.Candidate(r, otr.generate_tests(e), otr.test_names(e), gt.limits))
                 for i, (e, r) in enumerate(cands)]
        shards = _shards(items)  # type: ignore[arg-type]

        def run() -> list[Verdict]:
            with ThreadPoolExecutor(max(1, len(shards))) as pool:
                parts = list(pool.map(lambda ch: oba.verify_candidates([c for _, c in ch]), shards))
            return [v for p in parts for v in p]

        vd, secs = _timed(run)
        d_runs.append(secs)
        statuses[f"d_old_batched#{len(d_runs)}"] = [v.status for v in vd]

    # The machine is shared, so its load drifts: (c) is run before, during (after every quarter
    # of (a)) and after the others, and the median of those runs is compared, so that (a) and (c)
    # are measured under the same mix of conditions.
    batched()
    old_batched()
    vb, wall["b_rustc_each"] = _timed(lambda: verify_candidates(
        [Candidate(r, generate_driver(e), expectations(e), gt.limits) for e, r in cands], batch=False))
    statuses["b_rustc_each"] = [v.status for v in vb]
    if not args.skip_cargo and old is not None:
        root = Path(tempfile.mkdtemp(prefix="sse-bench-cargo-"))
        env = {**os.environ, **tool_env()}
        env.pop("CARGO_TARGET_DIR", None)
        va: list[Verdict] = []
        a_secs = 0.0
        try:
            quarter = max(1, len(cands) // 4)
            for i in range(0, len(cands), quarter):
                part, secs = _timed(lambda i=i: [cargo_verdict(e, r, root, env, old[0])
                                                 for e, r in cands[i:i + quarter]])
                va += part
                a_secs += secs
                batched()
        finally:
            shutil.rmtree(root, ignore_errors=True)
        wall["a_cargo_each"] = a_secs
        statuses["a_cargo_each"] = [v.status for v in va]
    else:
        batched()
    old_batched()
    print("c_batched runs (s): " + ", ".join(f"{x:.1f}" for x in c_runs) + "; the median is used")
    wall["c_batched"] = statistics.median(c_runs)
    if d_runs:
        print("d_old_batched runs (s): " + ", ".join(f"{x:.1f}" for x in d_runs) + "; the median is used")
        wall["d_old_batched"] = statistics.median(d_runs)

    n = len(cands)
    print(f"verdict mix (batched): {dict(collections.Counter(statuses['c_batched#1']))}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cpus)")
    for k in wall:
        print(f"{k:14s} {wall[k]:7.1f} s = {n / wall[k]:7.2f} verdicts/s")
    for num, den, label in (("a_cargo_each", "c_batched", "c vs a (batched vs cargo each)"),
                            ("d_old_batched", "c_batched", "c vs d (new batched vs previous batched)"),
                            ("a_cargo_each", "d_old_batched", "d vs a (previous batched vs cargo each)"),
                            ("a_cargo_each", "b_rustc_each", "b vs a (rustc each vs cargo each)"),
                            ("b_rustc_each", "c_batched", "c vs b (batched vs rustc each)")):
        if num in wall and den in wall:
            print(f"speed-up {label}: {wall[num] / wall[den]:.1f}x")
    disagree = [(i, {k: v[i] for k, v in statuses.items()}) for i in range(n)
                if len({v[i] for v in statuses.values()}) > 1]
    print(f"disagreements: {len(disagree)}")
    for i, d in disagree[:10]:
        print(f"  {cands[i][0].id}: {json.dumps(d)}")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
