"""The generate stage: completions per system and run, stored after each batch."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from typing import Any

from sse.core.entries import RETRY, GenEntry
from sse.core.records import Completion, Example, example_from_dict
from sse.core.store import content_key
from sse.run import evidence
from sse.run.context import RunContext
from sse.run.progress import Progress
from sse.run.shards import (
    SHARD,
    Fresh,
    finish_sharded,
    gen_target,
    old_shard,
    shard_reusable,
    write_build_file,
)
from sse.systems.base import extra_key, traits
from sse.task.config import TaskConfig
from sse.task.spec import Prompt


def render_prompt(task: TaskConfig, example: Example, run: int, signature: str) -> Prompt:
    values = {
        "python_code": example.python.rstrip(),
        "rust_signature": signature,
        "entry_point": example.entry_point,
        "example_id": example.id,
        "crates": ", ".join(task.ground_truth.crates) or "none (standard library only)",
        "program_name": example.entry_point,
        "usage": str(example.meta.get("usage", "")),
    }
    system, user = task.render(**values)
    return Prompt(system=system, user=user, example=example, run=run, decoding=task.decoding)


def generation_key(fingerprint: str, prompt: Prompt, stochastic: bool, extra: Any) -> str:
    """Model identity + rendered prompt + decoding (+ run index only when stochastic)."""
    return content_key(
        "completion/1",
        fingerprint,
        prompt.system,
        prompt.user,
        asdict(prompt.decoding),
        prompt.run if stochastic else None,
        extra,
    )


def run_generate(ctx: RunContext, system: str, run: int, auto: bool | None = None) -> None:
    """`auto`: whether `runs: auto` decides this run (False under `--runs N`; None: the task says)."""
    task = ctx.task
    target = gen_target(task.id, system, run)
    adapter = ctx.adapter(system)
    raw_examples = ctx.payload()["examples"]
    reason = adapter.unavailable_reason()
    header: dict[str, Any] = {
        "task": task.id,
        "system": system,
        "run": run,
        "skipped": reason,
        "fingerprint": None,
        "deterministic": None,
        "generated": 0,
        "cache_hits": 0,
        "errors": 0,
        "config": None,
    }
    auto = task.auto_runs is not None if auto is None else auto
    stopped = evidence.auto_stop(ctx, system, run, adapter) if reason is None and auto else None
    if stopped is not None:  # runs: auto said the earlier runs settle it: this run is not generated
        header.update(fingerprint=adapter.fingerprint(), deterministic=False, stopped=stopped)
        write_build_file(target, header | {"shards": []}, [])
        return
    names: list[str] = []
    fresh: Fresh = {}
    if reason is None:
        fp = adapter.fingerprint()
        stochastic = adapter.is_stochastic(task.decoding)
        config = content_key(
            fp,
            stochastic,
            run if stochastic else None,
            task.system_prompt,
            task.user_template,
            asdict(task.decoding),
            task.ground_truth.crates,
            task.prompt_style,
        )
        header.update(fingerprint=fp, deterministic=not stochastic, config=config)
        store, have = ctx.store, ctx.store_keys()
        todo: list[tuple[str, int, str, Prompt]] = []
        for pos, start in enumerate(range(0, len(raw_examples), SHARD)):
            chunk = raw_examples[start : start + SHARD]
            name = content_key("generate-shard", config, [d["key"] for d in chunk])
            names.append(name)
            if shard_reusable(target, name, "completion", have):
                header["cache_hits"] += len(chunk)
                continue
            prev = {e.example_key: e for e in map(GenEntry.from_json, old_shard(target, config, pos))}
            entries: list[GenEntry | None] = []
            for d in chunk:
                old = prev.get(d["key"])
                if old is not None and f"completion/{old.key}" in have and old.kept:
                    entries.append(old)
                    header["cache_hits"] += 1
                    continue
                ex = example_from_dict(d)
                prompt = render_prompt(task, ex, run, d.get("rust_signature", ""))
                key = generation_key(fp, prompt, stochastic, extra_key(adapter, ex))
                cached = store.get("completion", key)
                if cached is not None:
                    entries.append(GenEntry(key, ex.id, d["key"], Completion.from_dict(cached)))
                    header["cache_hits"] += 1
                else:
                    entries.append(None)
                    todo.append((name, len(entries) - 1, key, prompt))
            fresh[name] = (entries, [])
        with Progress(
            f"generate {task.id} {system} r{run}",
            total=len(raw_examples),
            done=len(raw_examples) - len(todo),
            hits=header["cache_hits"],
        ) as bar:
            ex = ctx.executor  # a cluster gets one adapter batch per worker slot at a time
            step = max(1, traits(adapter).batch_size) * (ex.slots if ex.name != "local" else 1)
            local = traits(adapter).local  # a local model's tokens/s is this machine's decoding rate
            for start in range(0, len(todo), step):
                batch = todo[start : start + step]
                t0 = time.perf_counter()
                comps = ctx.executor.generate(ctx.spec(system), task, [p for *_, p in batch])
                wall = time.perf_counter() - t0
                for (name, i, key, prompt), comp in zip(batch, comps, strict=True):
                    comp = replace(comp, key=key, run=run)
                    if comp.error is None or comp.error_kind == "timeout":
                        # failures of the harness are retried next time
                        store.put("completion", key, comp.to_dict())
                    else:
                        header["errors"] += 1
                        bar.fail()
                    fresh[name][0][i] = GenEntry(key, prompt.example.id, prompt.example.key(), comp)
                    header["generated"] += 1
                made = sum(c.tokens_out or 0 for c in comps) if local else 0
                bar.advance(len(batch), tokens=made, seconds=wall if made else 0.0)
                gave_up = next((c.error for c in comps if c.error_kind == "skipped"), None)
                if (
                    gave_up
                ):  # the adapter found the system unusable here: a skip (its answers so far are stored)
                    header["skipped"] = gave_up
                    break
        if header["skipped"]:  # no shards; RETRY keeps the task out of date until the system can run
            write_build_file(target, header | {"shards": []}, [RETRY])
            return
        for entries, keys in fresh.values():
            keys.extend(e.sidecar_key() for e in entries if e is not None)
    finish_sharded(target, header, names, fresh)
