"""The verify stage: a verdict for every completion of a system and run (compile + tests in a sandbox)."""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from typing import Any

from sse.core.entries import GenEntry, VerifyEntry
from sse.core.records import Verdict, example_from_dict
from sse.core.store import DamagedBuildFile, content_key
from sse.run import evidence
from sse.run.context import RunContext
from sse.run.generate import run_generate
from sse.run.progress import Progress
from sse.run.shards import (
    Fresh,
    finish_sharded,
    gen_target,
    old_shard,
    read_checked,
    shard_path,
    shard_reusable,
    ver_target,
)

VERIFY_CHUNK = 64


def rebuild(ctx: RunContext, e: DamagedBuildFile, system: str, run: int) -> None:
    """A damaged build file is dropped and its generate and verify steps redone: every entry
    comes back from the store (cache hits), anything the store lost is recomputed."""
    print(
        f"sse: warning: {e.path}: damaged build file ({e.message}); rebuilt from the store", file=sys.stderr
    )
    for p in (e.path, e.path.with_suffix(".keys")):
        p.unlink(missing_ok=True)
    run_generate(ctx, system, run)
    _verify(ctx, system, run)


def run_verify(ctx: RunContext, system: str, run: int) -> None:
    try:
        _verify(ctx, system, run)
    except DamagedBuildFile as e:  # a generate file: rebuild it, then verify again
        rebuild(ctx, e, system, run)


def _verify(ctx: RunContext, system: str, run: int) -> None:
    from sse.scorers import VerifyRequest, extract_rust, verdict_key

    task = ctx.task
    gtarget = gen_target(task.id, system, run)
    gen = read_checked(gtarget, dict)
    target = ver_target(task.id, system, run)
    config = content_key(asdict(task.ground_truth), ctx.payload().get("plus_digest"))
    header: dict[str, Any] = {
        "task": task.id,
        "system": system,
        "run": run,
        "skipped": gen["skipped"],
        "deterministic": gen["deterministic"],
        "verified": 0,
        "cache_hits": 0,
        "config": config,
        "stopped": gen.get("stopped"),
    }
    names: list[str] = []
    fresh: Fresh = {}
    if gen["skipped"] is None:
        raw = {d["id"]: d for d in ctx.payload()["examples"]}
        store, have = ctx.store, ctx.store_keys()
        todo: dict[str, tuple[Any, list[tuple[str, int]]]] = {}
        for pos, gname in enumerate(gen["shards"]):
            name = content_key("verify-shard", config, gname)
            names.append(name)
            if shard_reusable(target, name, "verdict", have):
                continue
            gentries = map(GenEntry.from_json, read_checked(shard_path(gtarget, gname), list))
            prev = {
                e.completion_key + "/" + e.example_key: e
                for e in map(VerifyEntry.from_json, old_shard(target, config, pos))
            }
            entries: list[VerifyEntry] = []
            for g in gentries:
                d = raw[g.example_id]
                comp = g.completion
                if not g.kept:
                    entries.append(VerifyEntry(d["id"], d["key"], g.key, "unverified"))
                    continue
                if comp.error_kind == "timeout":  # the system was too slow: its failure, no Rust to judge
                    vkey = content_key("generation-timeout", g.key)
                    v = Verdict(
                        status="timeout",
                        key=vkey,
                        tests_total=len(d["tests"]),
                        diagnostics=str(comp.error or "generation timed out"),
                    )
                    entries.append(VerifyEntry(d["id"], d["key"], g.key, "timeout", key=vkey, verdict=v))
                    continue
                old = prev.get(g.key + "/" + d["key"])
                if (
                    old is not None
                    and old.verdict is not None
                    and f"verdict/{old.key}" in have
                    and (old.plus is None or not old.plus.key or f"verdict/{old.plus.key}" in have)
                ):
                    entries.append(old)
                    header["cache_hits"] += 1
                    continue
                ex = example_from_dict(d)
                rust = extract_rust(comp.text or "", ex)
                req = VerifyRequest(example=ex, rust=rust, ground_truth=task.ground_truth)
                vkey = verdict_key(req)
                entry = VerifyEntry(
                    d["id"],
                    d["key"],
                    g.key,
                    "judged",
                    key=vkey,
                    rust_key=content_key("rust", rust) if rust else "",
                    rust=rust,
                )
                cached = store.get("verdict", vkey)
                if cached is not None:
                    header["cache_hits"] += 1
                    entries.append(entry.with_verdict(Verdict.from_dict(cached)))
                else:
                    entries.append(entry)
                    todo.setdefault(vkey, (req, []))[1].append((name, len(entries) - 1))
            fresh[name] = (entries, [])
        _judge_todo(ctx, f"verify {task.id} {system} r{run}", todo, fresh, header, "verdict")
        plus_todo = _plus_todo(ctx, raw, fresh, header)
        _judge_todo(ctx, f"verify+plus {task.id} {system} r{run}", plus_todo, fresh, header, "plus_verdict")
        for entries, keys in fresh.values():
            for e in entries:
                keys.extend(e.sidecar_keys())
    finish_sharded(target, header, names, fresh)


Todo = dict[str, tuple[Any, list[tuple[str, int]]]]  # verdict key -> (request, [(shard, entry index)])


def _judge_todo(
    ctx: RunContext, label: str, todo: Todo, fresh: Fresh, header: dict[str, Any], field: str
) -> None:
    """Judge the distinct requests of `todo` in chunks, store each verdict (harness failures are not
    stored, so they are retried), and give it to every entry that asked for it: as its verdict
    (`field` "verdict") or as its plus check's ("plus_verdict")."""
    items = list(todo.items())
    asked = sum(len(ix) for _, (_, ix) in items)
    n_total = sum(len(e) for e, _ in fresh.values()) if field == "verdict" else asked
    hits = header["cache_hits"] if field == "verdict" else 0
    with Progress(label, total=n_total, done=n_total - asked, hits=hits) as bar:
        step = max(VERIFY_CHUNK, 16 * ctx.executor.slots)  # keep every worker busy
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            verdicts = ctx.executor.verify([req for _, (req, _) in chunk], ctx.judge)
            for (vkey, (_, where)), v in zip(chunk, verdicts, strict=True):
                v = replace(v, key=vkey)
                if v.status != "infra_error":
                    ctx.store.put("verdict", vkey, v.to_dict())
                else:
                    bar.fail()
                for name, i in where:
                    e: VerifyEntry = fresh[name][0][i]
                    fresh[name][0][i] = e.with_verdict(v) if field == "verdict" else e.with_plus(vkey, v)
                header["verified"] += 1
            bar.advance(sum(len(ix) for _, (_, ix) in chunk))


def _plus_todo(ctx: RunContext, raw: dict[str, dict[str, Any]], fresh: Fresh, header: dict[str, Any]) -> Todo:
    """The base+plus requests of answers that passed base (see sse.run.evidence); stored verdicts are
    filled in at once, the rest returned to be judged."""
    from sse.scorers import VerifyRequest, verdict_key

    todo: Todo = {}
    for name, (entries, _) in fresh.items():
        for i, e in enumerate(entries):
            row = raw[e.example_id]
            if not evidence.wants_plus(e, row):
                continue
            ex = evidence.plus_example(row, example_from_dict(row))
            req = VerifyRequest(example=ex, rust=e.rust, ground_truth=ctx.task.ground_truth)
            pkey = verdict_key(req)
            cached = ctx.store.get("verdict", pkey)
            entries[i] = e.with_plus(pkey, None if cached is None else Verdict.from_dict(cached))
            if cached is not None:
                header["cache_hits"] += 1
            else:
                todo.setdefault(pkey, (req, []))[1].append((name, i))
    return todo
