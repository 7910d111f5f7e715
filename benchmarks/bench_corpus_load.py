"""Corpus load: cold (runs the Python of every example in one subprocess) vs warm (cached confirmations).

Also measures the peer the batching replaces: one interpreter per example. Prints figures and ratios.
Run: .venv/bin/python benchmarks/bench_corpus_load.py [SPEC]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from sse.core.store import Store
from sse.task.corpus import load_corpus
from sse.task.corpus.loader import bundled_corpus_path


def main() -> None:
    spec = sys.argv[1] if len(sys.argv) > 1 else "bundled:functions"
    with tempfile.TemporaryDirectory() as tmp, Store(f"{tmp}/store") as st:
        t0 = time.perf_counter()
        c = load_corpus(spec, store=st)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_corpus(spec, store=st)
        warm = time.perf_counter() - t0
    n = len(c.examples)
    # peer: a fresh interpreter per example (what the single batched subprocess avoids)
    sample = min(n, 10)
    t0 = time.perf_counter()
    for _ in range(sample):
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
    per_proc = (time.perf_counter() - t0) / sample
    print(f"corpus {spec}: {n} examples, {sum(len(e.tests) for e in c.examples)} tests "
          f"({bundled_corpus_path('functions') if spec == 'bundled:functions' else spec})")
    print(f"cold load (one subprocess):      {cold:7.3f} s")
    print(f"warm load (cached confirmations): {warm:7.3f} s   cold/warm = {cold / warm:.1f}x")
    print(f"peer: interpreter start x {n} examples ~ {per_proc * n:7.3f} s "
          f"(measured {per_proc * 1000:.0f} ms each)   peer/cold = {per_proc * n / cold:.1f}x")


if __name__ == "__main__":
    main()
