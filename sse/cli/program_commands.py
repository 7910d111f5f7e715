"""CLI for program tasks: `program-certify` (which tests of a program corpus count) and
`program-judge` (one Rust file against one example's certified suite)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sse.core.errors import CorpusError, VerifyError

COLUMNS = ("tests", "kept", "discounted", "not_command", "python_fails", "kept_core", "kept_fidelity")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("program-certify",
                              help="certify a program corpus's suites: tests kept, discounted, excluded")
    p.add_argument("--corpus", default="bundled:programs", help="bundled:NAME or a folder of program examples")
    p.add_argument("--example", action="append", default=[], help="only these example ids (repeatable)")
    p.add_argument("--json", dest="json_out", default=None, help="also write per-test results to this file")
    p.add_argument("--workers", type=int, default=None, help="examples certified in parallel")
    p.add_argument("--mutants", action="store_true",
                   help="also score each suite against AST mutants of its program (kill rate; weak tests)")
    p.add_argument("--plus", action="store_true", help="with --mutants: also derive differential plus argvs "
                                                        "and store them beside the corpus (_plus/<id>.json)")
    p.set_defaults(func=_certify)
    j = subparsers.add_parser("program-judge", help="judge one Rust program against an example's certified suite")
    j.add_argument("rust", help="a .rs file with fn main")
    j.add_argument("--example", required=True, help="example id")
    j.add_argument("--corpus", default="bundled:programs")
    j.add_argument("--crates", default="", help="comma-separated offline crates allowed (e.g. clap,serde_json)")
    j.add_argument("--timeout", type=float, default=10.0, help="seconds per program invocation")
    j.set_defaults(func=_judge)


def _examples(corpus: str, only: list[str]):  # type: ignore[no-untyped-def]
    from sse.task.corpus import load_corpus

    c = load_corpus(corpus, check=False)
    if c.kind != "program":
        raise CorpusError("not a program corpus", file=corpus, field="--corpus",
                          fix="give bundled:programs or a folder of program examples")
    exs = list(c.examples)
    if only:
        known = {e.id for e in exs}
        bad = [x for x in only if x not in known]
        if bad:
            raise CorpusError(f"unknown example(s) {bad}", file=corpus, field="--example",
                              fix=f"use ids such as {sorted(known)[:3]}")
        exs = [e for e in exs if e.id in only]
    return exs


def _certify(args: argparse.Namespace) -> int:
    from sse.core.store import Store
    from sse.scorers.programs import WORKERS, certify_many

    exs = _examples(args.corpus, args.example)
    t0 = time.monotonic()
    with Store() as store:
        certs = certify_many(exs, store, workers=args.workers or WORKERS)
    wall = time.monotonic() - t0
    rows = [c.summary() for c in certs]
    w = max(len(r["example"]) for r in rows)
    print(f"{'example':<{w}}  " + "  ".join(f"{c:>13}" for c in COLUMNS))
    for r in rows:
        print(f"{r['example']:<{w}}  " + "  ".join(f"{r[c]:>13}" for c in COLUMNS)
              + (f"  PROBLEM: {r['problem']}" if r["problem"] else ""))
    tot = {c: sum(r[c] for r in rows) for c in COLUMNS}
    print(f"{'TOTAL':<{w}}  " + "  ".join(f"{tot[c]:>13}" for c in COLUMNS))
    no_test = [r["example"] for r in rows if r["kept"] == 0]
    print(f"\n{len(rows)} examples, {tot['tests']} tests: {tot['kept']} kept "
          f"({tot['kept_core']} core, {tot['kept_fidelity']} fidelity), {tot['discounted']} discounted as "
          f"non-discriminating, {tot['not_command']} not command tests, {tot['python_fails']} failing on the Python.")
    print(f"examples left with no kept test: {len(no_test)}" + (f" ({', '.join(no_test)})" if no_test else ""))
    print(f"({wall:.1f} s)")
    scores = _mutation_table(exs, certs, args) if args.mutants else {}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([c.to_dict() | ({"mutation": scores[c.example_id]}
                                                                  if c.example_id in scores else {})
                                                   for c in certs], indent=1), encoding="utf-8")
    return 1 if any(r["problem"] for r in rows) else 0


def _mutation_table(exs, certs, args: argparse.Namespace) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    """Mutation score per suite, weak kept tests, and (with --plus) the differential plus argvs."""
    from concurrent.futures import ThreadPoolExecutor

    from sse.core.store import Store
    from sse.scorers.programs import generate_program_plus, mutation_score, save_program_plus

    t0 = time.monotonic()
    out: dict[str, dict] = {}  # type: ignore[type-arg]
    with Store() as store:
        def one(pair):  # type: ignore[no-untyped-def]
            e, c = pair
            ms = mutation_score(e, c, store)
            doc = None
            if args.plus and not ms.problem:
                doc = generate_program_plus(e, ms)
                if "error" not in doc["provenance"]:
                    save_program_plus(e, doc)
            return e, ms, doc

        with ThreadPoolExecutor(max_workers=max(1, (args.workers or 2) // 2)) as pool:
            results = list(pool.map(one, zip(exs, certs, strict=True)))
    print(f"\n{'example':<32} {'mutants':>7} {'killed':>6} {'score':>6} {'weak':>5} {'scored':>6}"
          + ("  plus argvs (kill beyond the suite)" if args.plus else ""))
    tot_m = tot_k = tot_w = tot_t = 0
    for e, ms, doc in results:
        s = ms.summary()
        tot_m, tot_k, tot_w, tot_t = tot_m + s["mutants"], tot_k + s["killed"], tot_w + s["weak"], tot_t + \
            s["scored_tests"]
        score = f"{s['score']:.0%}" if s["score"] is not None else "-"
        extra = ""
        if doc is not None:
            pv = doc["provenance"]
            extra = f"  {pv.get('kept', 0)} ({len(pv.get('killed_by_plus_not_suite', []))})"
        print(f"{e.id:<32} {s['mutants']:>7} {s['killed']:>6} {score:>6} {s['weak']:>5} {s['scored_tests']:>6}"
              + extra + (f"  PROBLEM: {s['problem']}" if s["problem"] else ""))
        out[e.id] = {**s, "weak_tests": ms.weak, "mutants_detail": ms.mutants,
                     **({"plus": doc} if doc is not None else {})}
    print(f"mutation score over {len(results)} suites: {tot_k}/{tot_m} = {tot_k / max(1, tot_m):.1%} mutants "
          f"killed; {tot_w} of {tot_t} scored kept tests kill no mutant (weak) "
          f"({time.monotonic() - t0:.0f} s)")
    return out


def _judge(args: argparse.Namespace) -> int:
    from sse.scorers.api import VerifyRequest
    from sse.scorers.programs import program_judge
    from sse.task.config import GroundTruth, Limits

    src = Path(args.rust)
    if not src.is_file():
        raise VerifyError("file not found", file=str(src), field="rust", fix="give a .rs file with fn main")
    ex = _examples(args.corpus, [args.example])[0]
    crates = tuple(sorted(c for c in args.crates.split(",") if c))
    gt = GroundTruth(type="program", crates=crates, limits=Limits(test_timeout_s=args.timeout))
    v = program_judge([VerifyRequest(ex, src.read_text(encoding="utf-8"), gt)])[0]
    for o in v.tests:
        print(f"{o.status:>8}  {o.name}" + (f"  ({o.message[:120]})" if o.message else ""))
    core, fid = v.meta.get("core", {}), v.meta.get("fidelity", {})
    print(f"{v.status}: {v.tests_passed}/{v.tests_total} kept tests"
          + (f"; core {core.get('passed')}/{core.get('total')}, fidelity {fid.get('passed')}/{fid.get('total')}"
             if core else "") + f"; evidence: {v.meta.get('evidence', '-')}")
    if v.diagnostics and v.status != "pass":
        print(v.diagnostics[:1500], file=sys.stderr)
    return 0 if v.status == "pass" else 1
