"""The corpus stage: the task's examples, confirmed, with what prompts need (examples.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xxhash

from sse.core.records import Example, example_to_dict
from sse.core.store import DamagedBuildFile, content_key
from sse.run import evidence
from sse.run.context import RunContext
from sse.run.shards import read_checked, write_build_file
from sse.task.config import TaskConfig


def signature(example: Example) -> str:
    from sse.task.translate import rust_signature

    return rust_signature(example) if example.kind == "function" else ""


def corpus_files(task: TaskConfig) -> list[str]:
    from sse.task.config import BUNDLED_PREFIX
    from sse.task.corpus import bundled_corpus_path

    p = (
        bundled_corpus_path(task.corpus[len(BUNDLED_PREFIX) :])
        if task.corpus.startswith(BUNDLED_PREFIX)
        else Path(task.corpus)
    )
    if p.is_file():  # with its plus sets beside it (a folder corpus holds them in _plus/)
        from sse.task.corpus.plus import plus_dir

        extra = plus_dir(p)
        return [str(p), *(sorted(str(f) for f in extra.iterdir() if f.is_file()) if extra.is_dir() else [])]
    return sorted(str(f) for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


ROW_FORMAT = 1  # the rows of examples.json (bump when a row gains or changes a derived field)


def _example_row(ctx: RunContext, e: Example, src: str | None) -> dict[str, Any]:
    """An example as examples.json holds it; derived data is memoised in the store by example key."""
    from sse.scorers.api import VERIFIER_VERSION

    store = ctx.store
    memo = content_key("example_row", e.key(), VERIFIER_VERSION)
    row = store.get("example_row", memo)
    if row is None:
        row = example_to_dict(e) | {"rust_signature": signature(e), "key": e.key()}
        store.put("example_row", memo, row)
    return row | {"src": src} if src else row  # type: ignore[no-any-return]


def _previous_rows(target: Path) -> dict[str, dict[str, Any]]:
    """Rows of the last examples.json by the digest of the record they came from ({} if unusable)."""
    try:
        return {r["src"]: r for r in read_checked(target, dict)["examples"] if r.get("src")}
    except (DamagedBuildFile, KeyError, TypeError, AttributeError):
        return {}


def run_corpus(ctx: RunContext) -> None:
    """examples.json: every example of the corpus, derived (parsed, confirmed, signed). A record whose
    digest (its text, place and the loader's versions) is unchanged keeps its row from the last
    examples.json, so an edit re-derives only the edited files (a .jsonl: the edited lines)."""
    from sse.core.records import example_from_dict
    from sse.scorers.api import VERIFIER_VERSION
    from sse.task.corpus.loader import (
        check_unique_ids,
        corpus_key,
        corpus_location,
        corpus_records,
        derive_examples,
        load_corpus,
    )

    task = ctx.task
    target = ctx.build_dir / "examples.json"
    records = corpus_records(task.corpus)
    examples: list[Example] | None = None
    if records is None:  # a program corpus is loaded whole
        corpus = load_corpus(task.corpus, store=ctx.store)
        name, path, kind = corpus.name, corpus.path, corpus.kind
        examples = list(corpus.examples)
        rows = [_example_row(ctx, e, None) for e in examples]
    else:
        (name, where), kind = corpus_location(task.corpus), "function"
        path = str(where)
        salt = f"example-row\0{ROW_FORMAT}\0{VERIFIER_VERSION}\0"
        digests = [xxhash.xxh3_128_hexdigest((salt + r.digest).encode()) for r in records]
        old = _previous_rows(target)
        todo = [(r, d) for r, d in zip(records, digests, strict=True) if d not in old]
        derived = derive_examples([r for r, _ in todo], ctx.store)
        made = dict(zip((d for _, d in todo), derived, strict=True))
        fresh = {d: _example_row(ctx, e, d) for d, e in made.items()}
        rows = [{k: v for k, v in old[d].items() if k != "plus"} if d in old else fresh[d] for d in digests]
        check_unique_ids((row["id"], r.file) for row, r in zip(rows, records, strict=True))
        if task.ground_truth.plus:  # plus sets are checked against the examples themselves
            examples = [
                made[d] if d in made else example_from_dict(row) for d, row in zip(digests, rows, strict=True)
            ]
    plus_rows, plus_summary = evidence.corpus_plus(task, path, examples or [])
    rows = [row | {"plus": plus_rows[row["id"]]} if row["id"] in plus_rows else row for row in rows]
    payload = {
        "task": task.id,
        "corpus": {
            "name": name,
            "path": path,
            "kind": kind,
            "key": corpus_key([r["key"] for r in rows]),
            "n_examples": len(rows),
        },
        "examples": rows,
        "plus": plus_summary,
        "plus_digest": evidence.plus_digest(rows),
    }
    write_build_file(target, payload, keys=[])  # sealed: the next load trusts its rows only if intact
