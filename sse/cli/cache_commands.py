"""`sse cache check` / `sse cache repair`: is the cache intact, and mend it when it is not.

check reads every stored value and its integrity seal (nothing is written) and the
state of doit's dependency file; exit 0 when all is intact, 1 otherwise.
repair moves a damaged store aside (kept for inspection) and rebuilds it from every
value that can still be read and passes its seal; a damaged doit dependency file is
moved aside too (doit then re-checks each task against the store: cache hits, no
recomputation). What could not be kept is recomputed by the next run. A cache written
before values were sealed reads as damaged; `repair --adopt-unsealed` keeps its values
(sealing them as they are) when you trust it, instead of recomputing every answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sse.core.store import StoreReport, cache_root, check_store, repair_store, sqlite_state

DEP_FILE = "doit.sqlite3"  # doit's dependency file (sse.graph.doit_config), in the cache root


def _root(args: argparse.Namespace) -> Path:
    return Path(args.dir).resolve() if args.dir else cache_root()


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{ns} {n}" for ns, n in sorted(d.items())) or "none"


def _print_store(r: StoreReport) -> None:
    print(f"store {r.folder}: database {r.database}; intact values: {_counts(r.intact)}; "
          f"damaged values: {_counts(r.damaged)}")


def _check(args: argparse.Namespace) -> int:
    root = _root(args)
    r = check_store(root / "store")
    _print_store(r)
    dep = sqlite_state(root / DEP_FILE)
    print(f"doit state {root / DEP_FILE}: {dep}")
    if r.ok and dep in ("ok", "missing"):
        print("cache intact")
        return 0
    print(f"sse: the cache is damaged (fix: run `sse cache repair{' --dir ' + str(root) if args.dir else ''}`)",
          file=sys.stderr)
    return 1


def _repair(args: argparse.Namespace) -> int:
    root = _root(args)
    r = repair_store(root / "store", adopt_unsealed=args.adopt_unsealed)
    if r.moved_to is None:
        _print_store(r)
        print("store: nothing to repair")
    else:
        print(f"store {r.folder}: database was {r.database}; moved aside to {r.moved_to}; kept {sum(r.intact.values())} "
              f"value(s) ({_counts(r.intact)}; sealed from an older cache: {_counts(r.adopted)}); dropped {sum(r.damaged.values())} damaged value(s); "
              f"anything else is recomputed by the next run (delete {r.moved_to} when satisfied)")
    dep = root / DEP_FILE
    state = sqlite_state(dep)
    if state.startswith("damaged"):
        aside = dep.with_name(f"{dep.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(dep, aside)
        print(f"doit state {dep}: was {state}; moved aside to {aside} (tasks are re-checked against the store)")
    else:
        print(f"doit state {dep}: {state}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("cache", help="check or repair the cache (store and doit state)", description=__doc__)
    sub = p.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    for name, fn, text in (("check", _check, "read every cached value and its seal; exit 1 when damaged"),
                           ("repair", _repair, "move a damaged store aside and keep every value that can be read")):
        c = sub.add_parser(name, help=text, description=__doc__)
        c.add_argument("--dir", default=None, help="cache folder (default: $SSE_CACHE_DIR, else ./cache)")
        if name == "repair":
            c.add_argument("--adopt-unsealed", action="store_true",
                           help="keep (and seal) values of a cache written before values were sealed, "
                                "instead of recomputing them; only for a cache you trust")
        c.set_defaults(func=fn)
