"""The doit task graph: the one module that knows doit.

Stages (see `doit list`): corpus -> [fetch -> convert -> validate] -> generate -> verify
-> stats -> pareto -> report. Tasks are coarse (per task, system and run); the
content-addressed store makes the work inside them per example, so an edit to
one example recomputes that example only.

Build files live in cache/build/<task>/; they carry the completions and verdicts
themselves, so an evicted store entry never breaks a later stage. A generate or
verify task is also out of date when one of the store entries it lists has gone
(deleted or evicted): that entry, and only it, is recomputed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from doit.tools import config_changed

from sse.core.records import Example, Sample, Verdict, example_from_dict, example_to_dict
from sse.core.store import (
    DamagedBuildFile,
    Store,
    atomic_write_bytes,
    atomic_write_text,
    cache_root,
    content_key,
    doit_state_file,
    read_sealed,
    seal_of,
    sealed_size_ok,
)
from sse.exec import Judge, get_executor
from sse.run.progress import Progress
from sse.systems.base import Adapter, adapter_for, clear_adapters, extra_key
from sse.task.config import TaskConfig, load_tasks, systems_for
from sse.task.spec import Prompt, SystemSpec

REMOTE_KINDS = frozenset({"claude", "gemini", "llm"})
BUILD_FORMAT = 2  # layout of build files; part of every up-to-date check, so a new layout rebuilds them
GEN_CHUNK = 4  # completions are stored after each chunk: an interrupt loses at most one chunk
VERIFY_CHUNK = 64


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class Plan:
    """What to evaluate: resolved from SSE_* environment variables (set by `sse evaluate`)."""

    task_glob: str = "tasks/python-to-rust.yaml"
    models: tuple[str, ...] = ()
    runs: int | None = None
    output: str = "reports"

    @classmethod
    def from_env(cls) -> Plan:
        models = tuple(m for m in os.environ.get("SSE_MODELS", "").split(",") if m)
        runs = os.environ.get("SSE_RUNS")
        return cls(task_glob=os.environ.get("SSE_TASKS", cls.task_glob), models=models,
                   runs=int(runs) if runs else None, output=os.environ.get("SSE_OUTPUT", "reports"))


def build_dir(task_id: str) -> Path:
    return cache_root() / "build" / task_id


def report_dir(plan: Plan, task_id: str) -> Path:
    return Path(plan.output).resolve() / task_id


# ------------------------------------------------------------------ helpers
@functools.cache
def _store() -> Store:
    return Store()


@functools.cache
def _store_keys() -> frozenset[str]:
    """Every key in the store, read once per process (fast no-op up-to-date checks)."""
    return frozenset(_store().iterkeys())


def _runs(task: TaskConfig, plan: Plan) -> int:
    return plan.runs or task.runs


@functools.cache
def _task(path: str) -> TaskConfig:
    from sse.task.config import load_task

    return load_task(path)


def _spec(task: TaskConfig, name: str) -> SystemSpec:
    return systems_for(task, [name])[0]


def _adapter(task: TaskConfig, name: str) -> Adapter:
    return adapter_for(_spec(task, name), task)


@functools.cache
def _examples_payload(task_id: str, mtime_ns: int) -> dict[str, Any]:
    return _read(build_dir(task_id) / "examples.json")


def _payload(task_id: str) -> dict[str, Any]:
    """examples.json, parsed once per process per version of the file."""
    path = build_dir(task_id) / "examples.json"
    return _examples_payload(task_id, path.stat().st_mtime_ns)


def _signature(example: Example) -> str:
    from sse.scorers import rust_signature

    return rust_signature(example) if example.kind == "function" else ""


def render_prompt(task: TaskConfig, example: Example, run: int, signature: str) -> Prompt:
    values = {"python_code": example.python.rstrip(), "rust_signature": signature,
              "entry_point": example.entry_point, "example_id": example.id,
              "crates": ", ".join(task.ground_truth.crates) or "none (standard library only)",
              "program_name": example.entry_point, "usage": str(example.meta.get("usage", ""))}
    system, user = task.render(**values)
    return Prompt(system=system, user=user, example=example, run=run, decoding=task.decoding)


def generation_key(fingerprint: str, prompt: Prompt, stochastic: bool, extra: Any) -> str:
    """Model identity + rendered prompt + decoding (+ run index only when stochastic)."""
    return content_key("completion/1", fingerprint, prompt.system, prompt.user, asdict(prompt.decoding),
                       prompt.run if stochastic else None, extra)


# ------------------------------------------------------------------ stage: corpus
def corpus_files(task: TaskConfig) -> list[str]:
    from sse.task.config import BUNDLED_PREFIX
    from sse.task.corpus import bundled_corpus_path

    p = bundled_corpus_path(task.corpus[len(BUNDLED_PREFIX):]) if task.corpus.startswith(BUNDLED_PREFIX) \
        else Path(task.corpus)
    if p.is_file():
        return [str(p)]
    return sorted(str(f) for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def action_corpus(task_path: str) -> None:
    from sse.task.corpus import load_corpus

    task = _task(task_path)
    corpus = load_corpus(task.corpus, store=_store())
    examples = list(corpus.examples)
    # Derived per-example data is memoised by example key: an edit re-derives only that example.
    from sse.scorers.api import VERIFIER_VERSION

    store = _store()
    rows = []
    for e in examples:
        memo = content_key("example_row", e.key(), VERIFIER_VERSION)
        row = store.get("example_row", memo)
        if row is None:
            row = example_to_dict(e) | {"rust_signature": _signature(e), "key": e.key()}
            store.put("example_row", memo, row)
        rows.append(row)
    payload = {"task": task.id, "corpus": {"name": corpus.name, "path": corpus.path, "kind": corpus.kind,
                                           "key": corpus.key(), "n_examples": len(examples)},
               "examples": rows}
    _write(build_dir(task.id) / "examples.json", payload)


# ------------------------------------------------------------------ stage: generate
def _gen_target(task_id: str, system: str, run: int) -> Path:
    return build_dir(task_id) / system / f"generate-r{run}.json"


def _ver_target(task_id: str, system: str, run: int) -> Path:
    return build_dir(task_id) / system / f"verify-r{run}.json"


def _read(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def _write(path: Path, data: Any, keys: list[str] | None = None, seals: tuple[str, ...] = ()) -> str:
    """Write a build file; `keys` go to a sidecar the up-to-date check reads without parsing the file,
    after the file's own seal ("#self SIZE DIGEST") and `seals` of other files. Returns the seal."""
    blob = orjson.dumps(data)
    seal = seal_of(blob)
    if keys is not None:
        atomic_write_bytes(path.with_suffix(".keys"), "\n".join([f"#self {seal}", *seals, *keys]).encode())
    atomic_write_bytes(path, blob)
    return seal


def _seals(build_file: Path) -> dict[str, str]:
    """'#NAME SIZE DIGEST' lines of a sidecar: 'self' (the file) and, in an index, 'shard:<name>'."""
    try:
        lines = build_file.with_suffix(".keys").read_bytes().decode(errors="replace").split("\n")
    except FileNotFoundError:
        return {}
    return {ln[1:].split(" ", 1)[0]: ln[1:].split(" ", 1)[1] for ln in lines if ln.startswith("#") and " " in ln}


def _read_checked(path: Path, kind: type) -> Any:
    """A build file whose bytes match the seal in its sidecar and whose JSON is of `kind`."""
    return read_sealed(path, _seals(path).get("self"), kind)


# A generate/verify target is a small index naming content-addressed shards of SHARD examples
# (`<target>.d/<key>.json`, key = hash of the config and of the example or completion keys in it).
# A shard whose name already exists, and whose store entries are all present, is reused without
# being read: an edit to one example rewrites one shard per task, whatever the corpus size.
SHARD = 128


def _shard_path(target: Path, name: str) -> Path:
    return target.with_suffix(".d") / f"{name}.json"


def _read_keys(build_file: Path) -> list[str] | None:
    """The `.keys` sidecar of a build file: one store key a line, `<retry>` for a harness failure."""
    try:
        lines = build_file.with_suffix(".keys").read_bytes().decode(errors="replace").split("\n")
        return [k for k in lines if k and not k.startswith("#")]
    except FileNotFoundError:
        return None


def _all_stored(keys: list[str] | None, namespace: str) -> bool:
    """True when the sidecar exists, lists no harness failure, and every key is still in the store."""
    if keys is None:
        return False
    have = _store_keys()
    return all(k != "<retry>" and f"{namespace}/{k}" in have for k in keys)


def _shard_keys(target: Path, name: str) -> list[str] | None:
    return _read_keys(_shard_path(target, name))


def _shard_reusable(target: Path, name: str, namespace: str) -> bool:
    path = _shard_path(target, name)
    return sealed_size_ok(path, _seals(path).get("self")) and _all_stored(_shard_keys(target, name), namespace)


def _intact(target: Path) -> bool:
    """The index and every shard it lists have the sizes their seals record (stats only)."""
    seals = _seals(target)
    return sealed_size_ok(target, seals.get("self")) and all(
        sealed_size_ok(_shard_path(target, k[len("shard:"):]), v) for k, v in seals.items() if k.startswith("shard:"))


def _old_shard(target: Path, config: str, position: int) -> list[dict[str, Any]]:
    """Entries of the previous shard at this position (same config), to reuse unchanged examples."""
    try:
        index = _read_checked(target, dict)
        if index.get("config") != config:
            return []
        return _read_checked(_shard_path(target, index["shards"][position]), list)  # type: ignore[no-any-return]
    except (DamagedBuildFile, IndexError, KeyError, TypeError):
        return []


def _finish_sharded(target: Path, header: dict[str, Any], names: list[str],
                    fresh: dict[str, tuple[list[dict[str, Any]], list[str]]]) -> None:
    """Write new shards (entries + key sidecar), the index and its key sidecar; drop stale shards."""
    seals = {name: _write(_shard_path(target, name), entries, keys) for name, (entries, keys) in fresh.items()}
    all_keys: list[str] = []
    for name in names:  # fresh shards' keys are in hand; reused shards' sidecars are read
        all_keys.extend(fresh[name][1] if name in fresh else (_shard_keys(target, name) or ["<retry>"]))
        if name not in seals:
            seals[name] = _seals(_shard_path(target, name)).get("self", "0 <unsealed>")
    _write(target, header | {"shards": names}, all_keys, tuple(f"#shard:{n} {seals[n]}" for n in names))
    keep = {f"{n}{suffix}" for n in names for suffix in (".json", ".keys")}
    folder = target.with_suffix(".d")
    if folder.exists():
        for f in folder.iterdir():
            if f.name not in keep and not f.name.startswith("."):
                f.unlink(missing_ok=True)


def read_entries(target: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(index, every entry in example order) of a sharded build file; DamagedBuildFile when the index
    or a shard fails its seal (see `_rebuild`)."""
    index = _read_checked(target, dict)
    entries: list[dict[str, Any]] = []
    for name in index.get("shards", []):
        entries.extend(_read_checked(_shard_path(target, name), list))
    return index, entries


def _rebuild(e: DamagedBuildFile, task_path: str, system: str, run: int) -> None:
    """A damaged build file is dropped and its generate and verify steps redone: every entry
    comes back from the store (cache hits), anything the store lost is recomputed."""
    print(f"sse: warning: {e.path}: damaged build file ({e.message}); rebuilt from the store", file=sys.stderr)
    for p in (e.path, e.path.with_suffix(".keys")):
        p.unlink(missing_ok=True)
    action_generate(task_path, system, run)
    _action_verify(task_path, system, run)


def _completion_ok(e: dict[str, Any]) -> bool:
    c = e["completion"]
    return not c.get("error") or c.get("error_kind") == "timeout"


def action_generate(task_path: str, system: str, run: int) -> None:
    task = _task(task_path)
    target = _gen_target(task.id, system, run)
    adapter = _adapter(task, system)
    raw_examples = _payload(task.id)["examples"]
    reason = adapter.unavailable_reason()
    header: dict[str, Any] = {"task": task.id, "system": system, "run": run, "skipped": reason,
                              "fingerprint": None, "deterministic": None, "generated": 0, "cache_hits": 0,
                              "errors": 0, "config": None}
    names: list[str] = []
    fresh: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    if reason is None:
        fp = adapter.fingerprint()
        stochastic = adapter.is_stochastic(task.decoding)
        config = content_key(fp, stochastic, run if stochastic else None, task.system_prompt, task.user_template,
                             asdict(task.decoding), task.ground_truth.crates, task.prompt_style)
        header.update(fingerprint=fp, deterministic=not stochastic, config=config)
        store, have = _store(), _store_keys()
        todo: list[tuple[str, int, str, Prompt]] = []
        for pos, start in enumerate(range(0, len(raw_examples), SHARD)):
            chunk = raw_examples[start:start + SHARD]
            name = content_key("generate-shard", config, [d["key"] for d in chunk])
            names.append(name)
            if _shard_reusable(target, name, "completion"):
                header["cache_hits"] += len(chunk)
                continue
            prev = {e["example_key"]: e for e in _old_shard(target, config, pos)}
            entries: list[dict[str, Any] | None] = []
            for d in chunk:
                old = prev.get(d["key"])
                if old is not None and f"completion/{old['key']}" in have and _completion_ok(old):
                    entries.append(old)
                    header["cache_hits"] += 1
                    continue
                ex = example_from_dict(d)
                prompt = render_prompt(task, ex, run, d.get("rust_signature", ""))
                key = generation_key(fp, prompt, stochastic, extra_key(adapter, ex))
                cached = store.get("completion", key)
                if cached is not None:
                    entries.append({"key": key, "example_id": ex.id, "example_key": d["key"], "completion": cached})
                    header["cache_hits"] += 1
                else:
                    entries.append(None)
                    todo.append((name, len(entries) - 1, key, prompt))
            fresh[name] = (entries, [])  # type: ignore[assignment]
        with Progress(f"generate {task.id} {system} r{run}", total=len(raw_examples),
                      done=len(raw_examples) - len(todo), hits=header["cache_hits"]) as bar:
            ex = get_executor()  # a cluster gets one adapter batch per worker slot at a time
            step = max(1, int(getattr(adapter, "batch_size", GEN_CHUNK))) * (ex.slots if ex.name != "local" else 1)
            for start in range(0, len(todo), step):
                batch = todo[start:start + step]
                comps = get_executor().generate(_spec(task, system), task, [p for *_, p in batch])
                for (name, i, key, prompt), comp in zip(batch, comps, strict=True):
                    cd = comp.to_dict() | {"key": key, "run": run}
                    if comp.error is None or comp.error_kind == "timeout":
                        store.put("completion", key, cd)  # failures of the harness are retried next time
                    else:
                        header["errors"] += 1
                        bar.fail()
                    fresh[name][0][i] = {"key": key, "example_id": prompt.example.id,
                                         "example_key": prompt.example.key(), "completion": cd}
                    header["generated"] += 1
                bar.advance(len(batch))
                gave_up = next((c.error for c in comps if c.error_kind == "skipped"), None)
                if gave_up:  # the adapter found the system unusable here: a skip (its answers so far are stored)
                    header["skipped"] = gave_up
                    break
        if header["skipped"]:  # no shards; `<retry>` keeps the task out of date until the system can run
            _write(target, header | {"shards": []}, ["<retry>"])
            return
        for entries, keys in fresh.values():
            keys.extend(e["key"] if _completion_ok(e) else "<retry>" for e in entries if e is not None)
    _finish_sharded(target, header, names, fresh)


# ------------------------------------------------------------------ stage: verify
#: the judge of verify requests; None: the scorers' own (a test may count or stub verification)
JUDGE: Judge | None = None


@functools.cache
def _verify_fns() -> tuple[Callable[..., Any], ...]:
    import sse.scorers.programs  # noqa: F401 - registers the program-suite judge
    from sse.scorers import VerifyRequest, extract_rust, verdict_key

    return VerifyRequest, extract_rust, verdict_key


def action_verify(task_path: str, system: str, run: int) -> None:
    try:
        _action_verify(task_path, system, run)
    except DamagedBuildFile as e:  # a generate file: rebuild it, then verify again
        _rebuild(e, task_path, system, run)


def _action_verify(task_path: str, system: str, run: int) -> None:
    VerifyRequest, extract_rust, verdict_key = _verify_fns()
    task = _task(task_path)
    gen_target = _gen_target(task.id, system, run)
    gen = _read_checked(gen_target, dict)
    target = _ver_target(task.id, system, run)
    config = content_key(asdict(task.ground_truth))
    header: dict[str, Any] = {"task": task.id, "system": system, "run": run, "skipped": gen["skipped"],
                              "deterministic": gen["deterministic"], "verified": 0, "cache_hits": 0,
                              "config": config}
    names: list[str] = []
    fresh: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    if gen["skipped"] is None:
        raw = {d["id"]: d for d in _payload(task.id)["examples"]}
        store, have = _store(), _store_keys()
        todo: dict[str, tuple[Any, list[tuple[str, int]]]] = {}
        for pos, gname in enumerate(gen["shards"]):
            name = content_key("verify-shard", config, gname)
            names.append(name)
            if _shard_reusable(target, name, "verdict"):
                continue
            gentries = _read_checked(_shard_path(gen_target, gname), list)
            prev = {e["completion_key"] + "/" + e["example_key"]: e for e in _old_shard(target, config, pos)}
            entries: list[dict[str, Any]] = []
            for g in gentries:
                d = raw[g["example_id"]]
                comp = g["completion"]
                base = {"example_id": d["id"], "example_key": d["key"], "completion_key": g["key"]}
                if not _completion_ok(g):
                    entries.append(base | {"key": "", "rust_key": "", "verdict": None})
                    continue
                if comp.get("error_kind") == "timeout":  # the system was too slow: its failure, no Rust to judge
                    vkey = content_key("generation-timeout", g["key"])
                    v = Verdict(status="timeout", key=vkey, tests_total=len(d["tests"]),
                                diagnostics=str(comp.get("error") or "generation timed out"))
                    entries.append(base | {"key": vkey, "rust_key": "", "verdict": v.to_dict(), "synthetic": True})
                    continue
                old = prev.get(g["key"] + "/" + d["key"])
                if old is not None and old.get("verdict") is not None and f"verdict/{old['key']}" in have:
                    entries.append(old)
                    header["cache_hits"] += 1
                    continue
                ex = example_from_dict(d)
                rust = extract_rust(comp.get("text") or "", ex)
                req = VerifyRequest(example=ex, rust=rust, ground_truth=task.ground_truth)
                vkey = verdict_key(req)
                entry = base | {"key": vkey, "rust_key": content_key("rust", rust) if rust else "", "rust": rust}
                cached = store.get("verdict", vkey)
                if cached is not None:
                    header["cache_hits"] += 1
                    entries.append(entry | {"verdict": cached})
                else:
                    entries.append(entry | {"verdict": None})
                    todo.setdefault(vkey, (req, []))[1].append((name, len(entries) - 1))
            fresh[name] = (entries, [])
        items = list(todo.items())
        n_total = sum(len(e) for e, _ in fresh.values())
        with Progress(f"verify {task.id} {system} r{run}", total=n_total,
                      done=n_total - sum(len(ix) for _, (_, ix) in items), hits=header["cache_hits"]) as bar:
            step = max(VERIFY_CHUNK, 16 * get_executor().slots)  # keep every worker busy
            for start in range(0, len(items), step):
                chunk = items[start:start + step]
                verdicts = get_executor().verify([req for _, (req, _) in chunk], JUDGE)
                for (vkey, (_, where)), v in zip(chunk, verdicts, strict=True):
                    vd = v.to_dict() | {"key": vkey}
                    if v.status != "infra_error":
                        store.put("verdict", vkey, vd)
                    else:
                        bar.fail()
                    for name, i in where:
                        fresh[name][0][i]["verdict"] = vd
                    header["verified"] += 1
                bar.advance(sum(len(ix) for _, (_, ix) in chunk))
        for entries, keys in fresh.values():
            for e in entries:
                if e["verdict"] is None or e["verdict"].get("status") == "infra_error":
                    keys.append("<retry>")
                elif e["key"] and not e.get("synthetic"):
                    keys.append(e["key"])
    _finish_sharded(target, header, names, fresh)


# ------------------------------------------------------------------ stage: stats (collect + analyse)
def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def collect(task: TaskConfig, plan: Plan, systems: list[str]) -> dict[str, Any]:
    """Join build files into the report inputs (docs/report-inputs.md)."""
    out_dir = report_dir(plan, task.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    ex_payload = _payload(task.id)
    examples = {d["id"]: d for d in ex_payload["examples"]}
    samples: list[dict[str, Any]] = []
    sources: dict[str, str] = {}
    completions: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dict[str, Any]] = {}
    sys_info: list[dict[str, Any]] = []
    gen_errors: dict[str, list[str]] = {}
    for name in systems:
        spec = _spec(task, name)
        adapter = _adapter(task, name)
        info: dict[str, Any] = {"name": name, "kind": spec.kind, "version": spec.version,
                                "prices": asdict(spec.prices), "fingerprint": None, "deterministic": None,
                                "skipped_reason": None, "source": spec.source,
                                "price_model": getattr(adapter, "price_model", None),
                                "local": getattr(adapter, "local", spec.kind not in REMOTE_KINDS),
                                "prompt_style": getattr(adapter, "prompt_style", None),
                                "oracle": bool(getattr(adapter, "oracle", False)),
                                **({"pricing_basis": adapter.pricing_basis} if getattr(adapter, "pricing_basis", None) else {})}
        for run in range(_runs(task, plan)):
            try:
                gen, gen_entries = read_entries(_gen_target(task.id, name, run))
                ver, ver_entries = read_entries(_ver_target(task.id, name, run))
            except DamagedBuildFile as e:
                _rebuild(e, task.path, name, run)
                gen, gen_entries = read_entries(_gen_target(task.id, name, run))
                ver, ver_entries = read_entries(_ver_target(task.id, name, run))
            info.update(fingerprint=gen["fingerprint"], deterministic=gen["deterministic"],
                        skipped_reason=gen["skipped"])
            if gen["skipped"]:
                break
            comp_by_key = {g["key"]: g["completion"] for g in gen_entries}
            for v in ver_entries:
                comp = comp_by_key[v["completion_key"]]
                ex = examples[v["example_id"]]
                completions[v["completion_key"]] = comp
                if v.get("rust"):
                    sources[v["rust_key"]] = v["rust"]
                verdict = v["verdict"]
                if comp.get("error"):
                    gen_errors.setdefault(name, []).append(f"{ex['id']}: {comp.get('error')}")
                if verdict is None:
                    status, vkey = "infra_error", ""
                else:
                    status, vkey = verdict["status"], v["key"]
                    if vkey:
                        verdicts[vkey] = verdict
                samples.append(Sample(
                    task=task.id, system=name, example_id=ex["id"], run=run, level=int(ex["level"]),
                    status=status, completion_key=v["completion_key"], verdict_key=vkey,
                    example_key=ex["key"], rust_key=v.get("rust_key", ""),
                    tests_passed=int(verdict["tests_passed"]) if verdict else 0,
                    tests_total=int(verdict["tests_total"]) if verdict else len(ex["tests"]),
                    tokens_in=comp.get("tokens_in"), tokens_out=comp.get("tokens_out"),
                    latency_s=float(comp.get("latency_s") or 0.0), ttft_s=comp.get("ttft_s"),
                    cpu_s=comp.get("cpu_s"), dollars=comp.get("dollars"),
                    cost_source=comp.get("cost_source") or "unpriced",
                    deterministic=bool(gen["deterministic"]),
                    error_codes=tuple(verdict.get("error_codes", ())) if verdict else (),
                    generation_error=comp.get("error"),
                ).to_dict())
        sys_info.append(info)
    _write_jsonl(out_dir / "samples.jsonl", samples)
    _write_jsonl(out_dir / "examples.jsonl", [
        {"id": d["id"], "key": d["key"], "level": d["level"], "entry_point": d["entry_point"],
         "python": d["python"], "rust_signature": d.get("rust_signature", ""), "tests_total": len(d["tests"]),
         "kind": d.get("kind", "function")} for d in ex_payload["examples"]])
    _write_jsonl(out_dir / "sources.jsonl", [{"rust_key": k, "rust": v} for k, v in sources.items()])
    _write_jsonl(out_dir / "completions.jsonl", [c | {"key": k} for k, c in completions.items()])
    _write_jsonl(out_dir / "verdicts.jsonl", list(verdicts.values()))
    context = {
        "task": {**{k: v for k, v in asdict(task).items() if k not in ("system_prompt", "user_template")},
                 "prompts": {"system": task.system_prompt, "user_template": task.user_template},
                 "runs": _runs(task, plan)},
        "systems": sys_info,
        "corpus": ex_payload["corpus"],
        "generation_errors": gen_errors,
        "manifest": manifest(task, sys_info, ex_payload["corpus"]),
    }
    atomic_write_text(out_dir / "context.json", json.dumps(context, indent=2, default=str))
    return context


def manifest(task: TaskConfig, systems: list[dict[str, Any]], corpus: dict[str, Any]) -> dict[str, Any]:
    """What a reader needs to reproduce the numbers."""
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    def ver(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    def cmd(argv: list[str]) -> str | None:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    return {
        "sse_version": ver("sse"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: ver(p) for p in ("numpy", "scipy", "doit", "diskcache", "xxhash", "py2many", "gguf",
                                          "tokenizers", "matplotlib", "jinja2")},
        "rustc": cmd(["rustc", "-vV"]),
        "git_commit": cmd(["git", "-C", str(Path(__file__).resolve().parent.parent), "rev-parse", "HEAD"]),
        "corpus_key": corpus.get("key"),
        "system_fingerprints": {s["name"]: s["fingerprint"] for s in systems},
        "task_file": task.path,
        "seed": task.seed,
        "decoding": asdict(task.decoding),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def action_stats(task_path: str, plan_json: str, systems: list[str]) -> None:
    from sse.analysis import analyze

    plan = Plan(**json.loads(plan_json))
    task = _task(task_path)
    collect(task, plan, systems)
    out_dir = report_dir(plan, task.id)
    results = analyze(out_dir)
    atomic_write_text(out_dir / "results.json", json.dumps(results, indent=2, default=str))


def action_pareto(task_path: str, plan_json: str) -> None:
    """The frontier section of results.json and its plot (log cost axis, intervals, mixtures)."""
    from sse.report.plot import pareto_svg

    plan = Plan(**json.loads(plan_json))
    out_dir = report_dir(plan, _task(task_path).id)
    results = json.loads((out_dir / "results.json").read_text())
    atomic_write_text(out_dir / "pareto.json", json.dumps(results["pareto"], indent=1))
    atomic_write_text(out_dir / "pareto.svg", pareto_svg(results))


def action_report(task_path: str, plan_json: str) -> None:
    from sse.report import build_report

    plan = Plan(**json.loads(plan_json))
    task = _task(task_path)
    out_dir = report_dir(plan, task.id)
    # results.json belongs to the stats stage: the report only renders it
    build_report(out_dir, out_dir, formats=("md", "html"), results=json.loads((out_dir / "results.json").read_text()))


# ------------------------------------------------------------------ doit
def store_has_all(target: str, namespace: str, task: Any = None, values: Any = None) -> bool:
    """doit up-to-date check: every store entry the build file lists still exists, and the file and
    its shards have the sizes their seals record (a truncated shard is rebuilt)."""
    return _all_stored(_read_keys(Path(target)), namespace) and _intact(Path(target))


def _static_fingerprint(task: TaskConfig, name: str) -> str:
    """What identifies a system at graph-load time (native models add their .apr as a file_dep)."""
    spec = _spec(task, name)
    if spec.kind == "native":  # identified by its validated .apr (a file_dep); never convert at graph load
        return content_key("native", asdict(spec.prices), spec.source, spec.options)
    try:
        adapter = _adapter(task, name)
        reason = adapter.unavailable_reason()
        fp = adapter.fingerprint() if reason is None else f"unavailable: {reason}"
    except Exception as e:  # noqa: BLE001 - the generate task will report it properly
        fp = f"error: {e}"
    return content_key(fp, asdict(spec.prices), spec.kind, spec.source, spec.options)


def model_stage_deps(task: TaskConfig, name: str) -> list[str]:
    """file_deps a system's generation needs beyond the examples (e.g. a validated .apr)."""
    spec = _spec(task, name)
    if spec.kind == "native":
        from sse.artifacts.stages import validated_path

        return [str(validated_path(spec))]
    return []


def iter_doit_tasks(plan: Plan) -> Iterator[dict[str, Any]]:
    tasks = load_tasks(plan.task_glob)
    plan_json = json.dumps(asdict(plan))
    native_done: set[str] = set()
    for task in tasks:
        systems = [s.name for s in systems_for(task, list(plan.models) or None)]
        bdir = build_dir(task.id)
        examples_json = str(bdir / "examples.json")
        yield {"basename": "corpus", "name": task.id, "actions": [(action_corpus, [task.path])],
               "file_dep": [*corpus_files(task), task.path], "targets": [examples_json],
               "doc": "load the corpus and confirm every expected value by running the Python"}
        for name in systems:
            spec = _spec(task, name)
            if spec.kind == "native" and name not in native_done:
                native_done.add(name)
                from sse.artifacts.stages import doit_model_tasks

                yield from doit_model_tasks(spec)
        ver_targets: list[str] = []
        prompt_key = content_key(task.system_prompt, task.user_template, asdict(task.decoding), task.prompt_style)
        verify_key = content_key(asdict(task.ground_truth))
        for name in systems:
            fp = _static_fingerprint(task, name)
            det = not _adapter(task, name).is_stochastic(task.decoding)
            for run in range(_runs(task, plan)):
                gen_t, ver_t = _gen_target(task.id, name, run), _ver_target(task.id, name, run)
                dep0 = [f"generate:{task.id}:{name}:r0"] if det and run > 0 else []
                yield {"basename": "generate", "name": f"{task.id}:{name}:r{run}",
                       "actions": [(action_generate, [task.path, name, run])],
                       "file_dep": [examples_json, *model_stage_deps(task, name)], "targets": [str(gen_t)],
                       "task_dep": dep0,
                       "uptodate": [config_changed(content_key(BUILD_FORMAT, fp, prompt_key, run)),
                                    (store_has_all, [str(gen_t), "completion"], {})],
                       "doc": f"completions of {name}, run {run}" + (" (copy of run 0: deterministic)"
                                                                     if dep0 else "")}
                yield {"basename": "verify", "name": f"{task.id}:{name}:r{run}",
                       "actions": [(action_verify, [task.path, name, run])],
                       "file_dep": [str(gen_t)], "targets": [str(ver_t)],
                       "task_dep": [f"verify:{task.id}:{name}:r0"] if det and run > 0 else [],
                       "uptodate": [config_changed(content_key(BUILD_FORMAT, verify_key)),
                                    (store_has_all, [str(ver_t), "verdict"], {})],
                       "doc": f"compile and test {name}'s Rust, run {run}"}
                ver_targets.append(str(ver_t))
        rdir = report_dir(plan, task.id)
        yield {"basename": "stats", "name": task.id,
               "actions": [(action_stats, [task.path, plan_json, systems])],
               "file_dep": [examples_json, *ver_targets],
               "targets": [str(rdir / "samples.jsonl"), str(rdir / "results.json")],
               "uptodate": [config_changed(content_key(plan_json, systems))],
               "doc": "samples.jsonl, intervals, comparisons, costs and Pareto frontiers -> results.json"}
        yield {"basename": "pareto", "name": task.id, "actions": [(action_pareto, [task.path, plan_json])],
               "file_dep": [str(rdir / "results.json")],
               "targets": [str(rdir / "pareto.json"), str(rdir / "pareto.svg")],
               "doc": "the Pareto frontier table and plot"}
        yield {"basename": "report", "name": task.id, "actions": [(action_report, [task.path, plan_json])],
               "file_dep": [str(rdir / "results.json"), str(rdir / "pareto.json")],
               "targets": [str(rdir / "report.md"), str(rdir / "report.html")],
               "doc": "report.md and report.html"}


def guarded(action: str, *args: Any) -> bool:
    """Run a stage action by name; an SseError becomes its one line instead of doit's traceback.

    Module-level (not a closure) so that `doit -n N` can ship it to worker processes.
    """
    from sse.core.errors import SseError

    try:
        globals()[action](*args)
    except SseError as e:
        print(f"sse: error: {e.one_line()}", file=sys.stderr)
        return False
    return True


def doit_tasks() -> dict[str, Any]:
    """task_* creators for dodo.py, grouped by stage so `doit list` shows the stages."""
    from sse.core.errors import SseError

    plan = Plan.from_env()
    try:
        all_tasks = list(iter_doit_tasks(plan))
    except SseError as e:
        print(f"sse: error: {e.one_line()}", file=sys.stderr)
        raise SystemExit(2) from None
    for t in all_tasks:
        if "actions" in t:
            t["actions"] = [(guarded, [a[0].__name__, *a[1]]) if isinstance(a, tuple) and a[0].__module__ == __name__
                            else a for a in t["actions"]]
    by_base: dict[str, list[dict[str, Any]]] = {}
    for t in all_tasks:
        by_base.setdefault(t["basename"], []).append(t)
    docs = {"corpus": "load and confirm corpora", "fetch": "fetch model files (sha256-checked, pickle-free)",
            "convert": "convert models to .apr (KL-gated)", "validate": "validate .apr (checksums, logits)",
            "generate": "completions per system and run", "verify": "verdicts: compile + tests in a sandbox",
            "stats": "samples.jsonl, intervals, paired tests, costs, frontiers -> results.json",
            "pareto": "the Pareto frontier table and plot", "report": "report.md / report.html"}
    creators: dict[str, Any] = {}
    for base, items in by_base.items():
        def creator(items: list[dict[str, Any]] = items, base: str = base) -> Iterator[dict[str, Any]]:
            yield {"basename": base, "name": None, "doc": docs.get(base, base)}
            for t in items:
                yield {k: v for k, v in t.items() if k != "basename"}

        creator.__doc__ = docs.get(base, base)
        creators[f"task_{base}"] = creator
    return creators


with contextlib.suppress(OSError):  # a read-only place: doit_state_file() gives doit a private copy
    cache_root().mkdir(parents=True, exist_ok=True)  # doit opens its state file before any task runs
DOIT_CONFIG = {
    "default_tasks": ["report"],
    "dep_file": str(doit_state_file()),
    "backend": "sqlite3",
    "verbosity": 1,
}


def run_doit(args: list[str], plan: Plan | None = None) -> int:
    """Run the graph in-process (what `sse evaluate` does)."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    if plan is not None:
        os.environ["SSE_TASKS"] = plan.task_glob
        os.environ["SSE_MODELS"] = ",".join(plan.models)
        os.environ["SSE_OUTPUT"] = plan.output
        if plan.runs:
            os.environ["SSE_RUNS"] = str(plan.runs)
        else:
            os.environ.pop("SSE_RUNS", None)
    if _store.cache_info().currsize:
        _store().close()
    _store.cache_clear()
    _store_keys.cache_clear()
    _task.cache_clear()
    clear_adapters()
    with contextlib.suppress(OSError):
        cache_root().mkdir(parents=True, exist_ok=True)
    # doit binds its output stream to sys.stdout at import time; give it the current one.
    config = dict(DOIT_CONFIG, dep_file=str(doit_state_file()), outfile=sys.stdout)
    namespace = {**doit_tasks(), "DOIT_CONFIG": config}
    return int(DoitMain(ModuleTaskLoader(namespace)).run(args))
