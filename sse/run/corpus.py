"""The corpus stage: the task's examples, confirmed, with what prompts need (examples.json)."""

from __future__ import annotations

from pathlib import Path

from sse.core.records import Example, example_to_dict
from sse.core.store import content_key
from sse.run import evidence
from sse.run.context import RunContext
from sse.run.shards import write_build_file
from sse.task.config import TaskConfig


def signature(example: Example) -> str:
    from sse.scorers import rust_signature

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


def run_corpus(ctx: RunContext) -> None:
    from sse.scorers.api import VERIFIER_VERSION
    from sse.task.corpus import load_corpus

    task, store = ctx.task, ctx.store
    corpus = load_corpus(task.corpus, store=store)
    examples = list(corpus.examples)
    plus_rows, plus_summary = evidence.corpus_plus(task, corpus.path, examples)
    # Derived per-example data is memoised by example key: an edit re-derives only that example.
    rows = []
    for e in examples:
        memo = content_key("example_row", e.key(), VERIFIER_VERSION)
        row = store.get("example_row", memo)
        if row is None:
            row = example_to_dict(e) | {"rust_signature": signature(e), "key": e.key()}
            store.put("example_row", memo, row)
        rows.append(row | {"plus": plus_rows[e.id]} if e.id in plus_rows else row)
    payload = {
        "task": task.id,
        "corpus": {
            "name": corpus.name,
            "path": corpus.path,
            "kind": corpus.kind,
            "key": corpus.key(),
            "n_examples": len(examples),
        },
        "examples": rows,
        "plus": plus_summary,
        "plus_digest": evidence.plus_digest(rows),
    }
    write_build_file(ctx.build_dir / "examples.json", payload)
