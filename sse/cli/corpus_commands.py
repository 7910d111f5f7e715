"""`sse corpus-stats` and `sse benchmark`: what a corpus contains, by Py2Rs level.

Both accept bundled:NAME, a folder of <id>.yaml, a .jsonl file or a folder of
program examples, and print with rich (plain text when not a terminal).
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from sse.core.records import Example
from sse.task.corpus.classify import LEVEL_NAMES, classify, dots, level_difficulty, level_name, level_weight
from sse.task.corpus.loader import Corpus, load_corpus

BAR_WIDTH = 12


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("corpus-stats", help="counts, lines, tests per example and levels of a corpus")
    p.add_argument("--path", required=True, help="bundled:NAME, a folder of <id>.yaml, a .jsonl file, "
                                                 "or a folder of program examples")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_corpus_stats)
    b = subparsers.add_parser("benchmark", help="Py2Rs level distribution of a corpus (bars and 10-dot summary)")
    b.add_argument("--corpus", required=True, help="bundled:NAME, a folder, a .jsonl file or a program folder")
    b.add_argument("--verbose", action="store_true", help="list every example with its level and why")
    b.set_defaults(func=_benchmark)


def _tests_of(e: Example) -> int:
    return int(e.meta.get("test_count", 0)) if e.kind == "program" else len(e.tests)


def _lines(e: Example) -> int:
    return sum(1 for line in e.python.splitlines() if line.strip() and not line.strip().startswith("#"))


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    """The figures `sse corpus-stats` prints (also used by tests and the report)."""
    ex = corpus.examples
    tests = [_tests_of(e) for e in ex]
    lines = [_lines(e) for e in ex]
    levels = Counter(e.level for e in ex)
    return {
        "name": corpus.name,
        "path": corpus.path,
        "kind": corpus.kind,
        "examples": len(ex),
        "tests": sum(tests),
        "tests_per_example": {"min": min(tests, default=0), "mean": statistics.fmean(tests) if tests else 0.0,
                              "max": max(tests, default=0)},
        "lines": {"total": sum(lines), "mean": statistics.fmean(lines) if lines else 0.0,
                  "max": max(lines, default=0)},
        "with_rust_reference": sum(1 for e in ex if e.rust_reference),
        "explicit_levels": sum(1 for e in ex if e.level_explicit),
        "levels": {lv: levels.get(lv, 0) for lv in range(1, 11)},
        "weighted_difficulty": (sum(level_weight(e.level) for e in ex) / len(ex)) if ex else 0.0,
        "dots": dots(set(levels)),
    }


def _bar(n: int, top: int) -> str:
    if not n:
        return ""
    return "█" * max(1, round(BAR_WIDTH * n / top))


def _level_table(corpus: Corpus, title: str) -> Table:
    levels = Counter(e.level for e in corpus.examples)
    top = max(levels.values(), default=1)
    total = len(corpus.examples) or 1
    t = Table(title=title, show_edge=False)
    for col, just in (("Level", "right"), ("Name", "left"), ("Difficulty", "left"), ("Weight", "right"),
                      ("Count", "right"), ("%", "right"), ("", "left")):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for lv in range(1, 11):
        n = levels.get(lv, 0)
        t.add_row(f"L{lv}", level_name(lv), level_difficulty(lv), f"{level_weight(lv):g}", str(n),
                  f"{100 * n / total:.0f}", f"[cyan]{_bar(n, top)}[/cyan]")
    return t


def _load(spec: str) -> Corpus:
    return load_corpus(spec)


def _corpus_stats(args: argparse.Namespace) -> int:
    corpus = _load(args.path)
    s = corpus_stats(corpus)
    console = Console()
    if args.json:
        import json

        console.print_json(json.dumps(s))
        return 0
    t = Table(title=f"corpus {s['name']} ({s['kind']}) — {s['path']}", show_header=False, show_edge=False)
    t.add_column(justify="left")
    t.add_column(justify="right")
    tp, ln = s["tests_per_example"], s["lines"]
    t.add_row("examples", str(s["examples"]))
    t.add_row("tests", str(s["tests"]))
    t.add_row("tests per example (min / mean / max)", f"{tp['min']} / {tp['mean']:.1f} / {tp['max']}")
    t.add_row("Python lines (total / mean / max)", f"{ln['total']} / {ln['mean']:.1f} / {ln['max']}")
    if s["kind"] == "function":
        t.add_row("with a Rust reference", str(s["with_rust_reference"]))
        t.add_row("explicit levels", str(s["explicit_levels"]))
    t.add_row("weighted difficulty (mean weight)", f"{s['weighted_difficulty']:.2f}")
    t.add_row("levels covered", s["dots"])
    console.print(t)
    console.print()
    console.print(_level_table(corpus, "examples per Py2Rs level"))
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    corpus = _load(args.corpus)
    console = Console()
    s = corpus_stats(corpus)
    console.print(_level_table(corpus, f"Py2Rs level distribution: {corpus.name} ({len(corpus.examples)} "
                                       f"{corpus.kind} examples)"))
    covered = {lv for lv, n in s["levels"].items() if n}
    console.print()
    console.print(f"Py2Rs {s['dots']}  levels covered {len(covered)}/10, "
                  f"mean weight {s['weighted_difficulty']:.2f} (of 1-20)")
    if args.verbose:
        t = Table(title="examples", show_edge=False)
        for col in ("Example", "Level", "Name", "Source", "Why"):
            t.add_column(col)
        for e in sorted(corpus.examples, key=lambda e: (e.level, e.id)):
            try:
                why = ", ".join(classify(e.python).reasons)
            except SyntaxError:
                why = "(does not parse)"
            t.add_row(e.id, f"L{e.level}", LEVEL_NAMES[e.level - 1],
                      "explicit" if e.level_explicit else "AST", why)
        console.print()
        console.print(t)
    return 0
