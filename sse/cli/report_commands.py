"""`sse report --input DIR --output FILE`: rebuild a report from saved records, running nothing.

FILE's suffix picks what is written: .html (report + drill-down pages), .md
(report + plot SVG + drill-down pages) or .json (results only). Supporting files
go beside FILE.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sse.core.errors import SseError

SUFFIXES = {".html": "html", ".md": "md", ".json": "json"}


class ReportArgError(SseError):
    """Bad `sse report` arguments."""


def _handler(args: argparse.Namespace) -> int:
    from sse.report.render import build_report

    out = Path(args.output)
    fmt = SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise ReportArgError(f"unknown output suffix {out.suffix!r}", field="--output",
                             fix="end FILE with .html, .md or .json")
    written = build_report(Path(args.input), out.parent, formats=(fmt,), stem=out.stem,
                           resamples=args.resamples)
    print(f"wrote {out} ({len(written)} file(s) in {out.parent})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="rebuild a report (html/md/json) from a reports/<task>/ folder",
                              description=__doc__)
    p.add_argument("--input", required=True, help="folder holding samples.jsonl, context.json, ...")
    p.add_argument("--output", required=True, help="FILE.html, FILE.md or FILE.json")
    p.add_argument("--resamples", type=int, default=None,
                   help="bootstrap resamples (default: the task's analysis.bootstrap_resamples, else 10000)")
    p.set_defaults(func=_handler)
