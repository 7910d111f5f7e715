"""Evidence for plus tests: base vs base+plus on a function corpus.

Prints, for the corpus's stored plus tests (`sse corpus-plus` makes them):
- plus-test counts;
- pass@1 on base and on base+plus of every reference Rust (must stay 100%) and of py2many
  (deterministic: one run), from ONE verdict per answer read two ways (`plus.views`);
- the kill rate of the Rust mutants of the references (sse.scorers.mutants) on base vs base+plus.

Run: .venv/bin/python benchmarks/bench_plus_tests.py [--corpus bundled:functions] [--no-mutants]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from sse.core.records import Example, Verdict
from sse.scorers.api import VerifyRequest, extract_rust, verify_batch
from sse.scorers.mutants import check_soundness
from sse.systems.py2many import Py2ManyAdapter
from sse.task.config import GroundTruth
from sse.task.corpus import load_corpus
from sse.task.corpus.plus import load_plus, views, with_plus
from sse.task.spec import Decoding, Prompt, SystemSpec


def _rate(xs: list[bool]) -> str:
    return f"{sum(xs)}/{len(xs)} = {sum(xs) / len(xs):.1%}" if xs else "n/a"


def _score(name: str, exs: list[Example], rust: dict[str, str | None], gt: GroundTruth) -> list[tuple[str, dict[str, bool], Verdict]]:
    reqs = [VerifyRequest(e, rust.get(e.id), gt) for e in exs]
    t0 = time.monotonic()
    vs = verify_batch(reqs)
    out = [(e.id, views(e, v), v) for e, v in zip(exs, vs, strict=True)]
    base = [w["base"] for _, w, _ in out]
    plus = [w["base+plus"] for _, w, _ in out]
    infra = sum(v.status == "infra_error" for _, _, v in out)
    print(f"{name}: pass@1 base {_rate(base)} -> base+plus {_rate(plus)} "
          f"(drop {100 * (sum(base) - sum(plus)) / len(exs):.1f} points; infra_error {infra}; "
          f"{time.monotonic() - t0:.0f} s)")
    lost = [i for i, w, _ in out if w["base"] and not w["base+plus"]]
    if lost:
        print(f"  pass base, fail plus: {', '.join(lost)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="bundled:functions")
    ap.add_argument("--no-mutants", action="store_true")
    a = ap.parse_args()
    corpus = load_corpus(a.corpus)
    fresh, stale = load_plus(corpus.path, corpus.examples)
    base = list(corpus.examples)
    plus = [with_plus(e, fresh.get(e.id)) for e in base]
    n_plus = sum(len(p.tests) for p in fresh.values())
    print(f"corpus {corpus.name}: {len(base)} examples, {sum(len(e.tests) for e in base)} base tests, "
          f"{n_plus} plus tests on {sum(1 for p in fresh.values() if p.tests)} examples "
          f"({len(stale)} without a fresh plus set)")
    gt = GroundTruth()
    refs = {e.id: e.rust_reference for e in base if e.rust_reference}
    if refs:
        _score("reference", [e for e in plus if e.id in refs], refs, gt)
    adapter = Py2ManyAdapter(SystemSpec(name="py2many", kind="py2many"))
    why = adapter.unavailable_reason()
    if why:
        print(f"py2many: skipped ({why})")
    else:
        comps = adapter.generate([Prompt("", "", e, 0, Decoding()) for e in base])
        rust = {c.example_id: extract_rust(c.text, e) for c, e in zip(comps, base, strict=True)}
        _score("py2many", plus, rust, gt)
    if refs and not a.no_mutants:
        for label, exs in (("base", base), ("base+plus", plus)):
            t0 = time.monotonic()
            rep = check_soundness([replace(e) for e in exs if e.id in refs])
            k, n = rep.kill_rate()
            print(f"Rust mutants of the references killed on {label}: {k}/{n} = {k / n:.1%} "
                  f"(weak examples {len(rep.weak)}, references failing {len(rep.reference_failures)}; "
                  f"{time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
