"""`sse corpus-plus`: generate (or refresh) the plus tests of a function corpus and print their counts.

The signature (types, fallibility) and the check that a case fits the Rust types come from the
scorers' type model (`sse.task.translate`); generation itself lives in `sse.task.corpus.plus`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sse.core.errors import CorpusError, SseError
from sse.core.records import Example, TestCase


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("corpus-plus", help="generate EvalPlus-style plus tests for a function corpus "
                                                  "(stored beside it; only changed examples are recomputed)")
    p.add_argument("--corpus", default="bundled:functions", help="bundled:NAME, a folder of <id>.yaml or a .jsonl")
    p.add_argument("--example", action="append", default=[], help="only these example ids (repeatable)")
    p.add_argument("--workers", type=int, default=1, help="sandboxed runs in parallel")
    p.add_argument("--force", action="store_true", help="recompute even where the stored set is fresh")
    p.add_argument("--check", action="store_true", help="only report missing or stale sets; exit 1 if any")
    p.add_argument("--json", dest="json_out", default=None, help="write the per-example provenance here")
    p.set_defaults(func=_plus)


def signature_info(example: Example) -> Any:
    """The scorers' typed signature in the shape plus-test generation wants."""
    from sse.task.corpus.plus import SignatureInfo
    from sse.task.translate import parse_signature

    sig = parse_signature(example)
    return SignatureInfo(tuple((p.name, p.type, p.has_default, p.default) for p in sig.params), sig.ret,
                         sig.fallible)


def case_fits(example: Example) -> Callable[[TestCase], bool]:
    """Whether a generated case's values have Rust literals of the declared types (i64 range, ...)."""
    from sse.task.translate import parse_signature, rust_value

    sig = parse_signature(example)

    def ok(tc: TestCase) -> bool:
        try:
            for p, v in zip(sig.params, tc.args, strict=True):
                rust_value(v, p.type, top_arg=True)
            if not tc.raises:
                rust_value(tc.expected, sig.ret)
        except Exception:  # the type model's own error class is private; any failure means "does not fit"
            return False
        return True

    return ok


def _plus(args: argparse.Namespace) -> int:
    from sse.task.corpus import load_corpus
    from sse.task.corpus.plus import ensure_plus, load_plus, plus_dir, summarize

    corpus = load_corpus(args.corpus)
    if corpus.kind != "function":
        raise CorpusError("plus tests are for function corpora", file=args.corpus, field="--corpus",
                          fix="give bundled:functions, bundled:humaneval or a function corpus")
    exs = [e for e in corpus.examples if not args.example or e.id in args.example]
    if args.example and len(exs) != len(set(args.example)):
        raise CorpusError(f"unknown example(s) among {args.example}", file=args.corpus, field="--example",
                          fix="use ids of the corpus")
    if args.check:
        fresh, stale = load_plus(corpus.path, exs)
        print(f"{len(fresh)} fresh, {len(stale)} missing or stale" + (f": {', '.join(stale[:20])}" if stale else ""))
        return 1 if stale else 0
    t0 = time.monotonic()
    done = [0]

    def progress(ex_id: str, ps: Any) -> None:
        done[0] += 1
        p = ps.provenance
        err = f"  ERROR {p['error']}" if "error" in p else ""
        print(f"[{done[0]}] {ex_id}: {len(ps.tests)} plus (valid {p.get('valid_plus', 0)}, mutants killed "
              f"{p.get('killed_base', 0)} -> {p.get('killed_full', 0)} of {p.get('mutants', 0)}){err}",
              file=sys.stderr, flush=True)

    try:
        plus = ensure_plus(corpus.path, exs, signature_info, case_fits, workers=args.workers, force=args.force,
                           progress=progress)
    except SseError:
        raise
    s = summarize(plus)
    print(f"corpus {corpus.name}: {s['examples']} examples, {s['plus_tests']} plus tests "
          f"({s['mean_plus']:.2f} per example, {s['with_plus']} examples with at least one) from "
          f"{s['candidates']} candidate inputs ({s['valid_plus']} valid); Python mutants killed: base "
          f"{s['killed_base']}/{s['mutants']} -> base+plus {s['killed_full']}/{s['mutants']}; branch arcs "
          f"{s['arcs_base']} -> {s['arcs_full']}; errors {s['errors']}; stored in {plus_dir(corpus.path)} "
          f"({time.monotonic() - t0:.0f} s)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({k: {"tests": len(v.tests), **v.provenance}
                                                   for k, v in plus.items()}, indent=1), encoding="utf-8")
    return 1 if s["errors"] else 0
