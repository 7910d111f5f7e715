"""`sse models ...`: list, fetch, pin, evict and validate models in the JIT model cache."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sse.core.errors import ArtifactError, ConfigError
from sse.task.spec import SystemSpec

DEFAULT_REGISTRY = "tasks/models.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="fetch, list, evict and validate local models (the JIT model cache)")
    sub = p.add_subparsers(dest="models_command", metavar="{list,fetch,pin,evict,validate}")
    sub.required = True

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--registry", default=os.environ.get("SSE_REGISTRY", DEFAULT_REGISTRY),
                        help=f"model registry YAML (default: $SSE_REGISTRY or {DEFAULT_REGISTRY})")
        sp.add_argument("--cache-dir", type=Path, default=None,
                        help="model cache folder (default: $SSE_MODEL_CACHE_DIR or <cache>/models)")

    ls = sub.add_parser("list", help="show cached models: size, last use, state")
    common(ls)
    ls.set_defaults(func=cmd_list)

    fe = sub.add_parser("fetch", help="download NAME's source files into the cache, verified")
    fe.add_argument("name")
    fe.add_argument("--unsafe-allow-pickle", action="store_true",
                    help="accept pickle-based weights (.bin/.pt/...): they can run code when loaded")
    common(fe)
    fe.set_defaults(func=cmd_fetch)

    pn = sub.add_parser("pin", help="fetch NAME and print the sha256 lines to pin in the registry")
    pn.add_argument("name")
    pn.add_argument("--unsafe-allow-pickle", action="store_true")
    common(pn)
    pn.set_defaults(func=cmd_pin)

    ev = sub.add_parser("evict", help="remove NAME from the cache (every cached source of that name)")
    ev.add_argument("name")
    ev.add_argument("--sources-only", action="store_true",
                    help="delete the downloaded files but keep the manifest (after the .apr validated)")
    common(ev)
    ev.set_defaults(func=cmd_evict)

    va = sub.add_parser("validate", help="validate an .apr file (PATH), or re-hash a cached model's files (NAME)")
    va.add_argument("target", metavar="NAME|PATH")
    common(va)
    va.set_defaults(func=cmd_validate)


def _spec(name: str, registry: str) -> SystemSpec:
    from sse.task.config import load_registry

    reg = load_registry(registry)
    if name not in reg:
        raise ConfigError(f"unknown model {name!r}", file=registry, field="systems",
                          fix=f"use one of {', '.join(sorted(reg))}")
    return reg[name]


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9)) if ns else "-"


def cmd_list(args: argparse.Namespace) -> int:
    from sse.artifacts.fetch import SOURCE_KINDS, entry_name
    from sse.artifacts.modelcache import ModelCache, human_size

    cache = ModelCache(args.cache_dir)
    infos = sorted(cache.entries(), key=lambda i: -i.last_used_ns)
    rows = [("NAME", "SOURCE", "SIZE", "LAST USED", "STATE")]
    for i in infos:
        m = i.manifest or {}
        src = m.get("source", {})
        desc = src.get("hf") or src.get("pypi") or src.get("path") or "?"
        rev = m.get("commit")  # hub sources; a wheel's version is already in its requirement
        state = "incomplete" if not m else "sources released" if i.sources_released else "ready"
        if m.get("unsafe_allow_pickle") and m.get("pickle_files"):
            state += " (pickle allowed)"
        if i.pinned:
            state += ", in use"
        rows.append((i.name, f"{desc}@{str(rev)[:12]}" if rev else str(desc), human_size(i.size),
                     _when(i.last_used_ns), state))
    cached = {i.entry for i in infos}
    if Path(args.registry).exists():
        from sse.task.config import load_registry

        for name, spec in sorted(load_registry(args.registry).items()):
            if any(k in spec.source for k in SOURCE_KINDS) and entry_name(spec) not in cached:
                rows.append((name, "-", "-", "-", f"not cached (sse models fetch {name})"))
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print(f"total {human_size(cache.total_bytes())} of {human_size(cache.limit)} in {cache.root}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from sse.artifacts.fetch import fetch_model

    spec = _spec(args.name, args.registry)
    r = fetch_model(spec, cache_dir=args.cache_dir, unsafe_allow_pickle=args.unsafe_allow_pickle)
    print(f"{r.name}: {'downloaded' if r.downloaded else 'already cached'} in {r.root}")
    for rel, info in sorted(r.manifest["files"].items()):
        print(f"  {rel}  {info['size']} B  sha256 {info['sha256']}  (checked: {info['verified_against']})")
    if r.manifest.get("unsafe_allow_pickle") and r.manifest.get("pickle_files"):
        print(f"  WARNING: pickle files accepted (--unsafe-allow-pickle): {', '.join(r.manifest['pickle_files'])}")
    for e in r.evicted:
        print(f"  evicted least-recently-used {e} to stay under the cache bound")
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from sse.artifacts.fetch import fetch_model, pin_snippet

    spec = _spec(args.name, args.registry)
    r = fetch_model(spec, cache_dir=args.cache_dir, unsafe_allow_pickle=args.unsafe_allow_pickle)
    checked = sorted({i["verified_against"] for i in r.manifest["files"].values()})
    print(f"# {args.name}: paste under `source:` in {args.registry} (hashes checked against: {', '.join(checked)})")
    print(pin_snippet(r))
    return 0


def cmd_evict(args: argparse.Namespace) -> int:
    from sse.artifacts.modelcache import ModelCache, human_size

    cache = ModelCache(args.cache_dir)
    entries = cache.entries_named(args.name)
    if not entries:
        raise ArtifactError(f"model {args.name!r} is not in the model cache", file=str(cache.root),
                            fix="`sse models list` shows what is cached")
    freed = 0
    for e in entries:
        freed += cache.release_sources(e) if args.sources_only else cache.evict(e)
    what = "source files of" if args.sources_only else ""
    print(f"evicted {what} {args.name} ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
          f"{human_size(freed)} freed)".replace("  ", " "))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.exists():
        return _validate_apr(target)
    rc = _rehash_cached(args.target, args.cache_dir)
    if Path(args.registry).exists():
        from sse.task.config import load_registry

        spec = load_registry(args.registry).get(args.target)
        if spec is not None:
            from sse.core.store import cache_root

            try:
                from sse.artifacts.stages import apr_path  # the converter's naming (native-runtime issue)

                apr = apr_path(spec, cache_root())
            except (ImportError, ArtifactError) as e:
                print(f"{args.target}: cannot locate its .apr ({e})")
                return rc
            if apr.exists():
                rc = max(rc, _validate_apr(apr))
            else:
                print(f"{args.target}: no converted .apr yet ({apr})")
    return rc


def _validate_apr(path: Path) -> int:
    from sse.artifacts.validate import validate_apr  # lazy: pulls in the numpy runtime

    result = validate_apr(path)  # raises a one-line ArtifactError on failure
    print(f"{path}: ok")
    if isinstance(result, dict):
        for k, v in result.items():
            print(f"  {k}: {v}")
    return 0


def _rehash_cached(name: str, cache_dir: Path | None) -> int:
    """Jidoka audit of a cached model: every file's sha256 against its manifest."""
    from sse.artifacts.fetch import sha256_file
    from sse.artifacts.modelcache import ModelCache

    cache = ModelCache(cache_dir)
    entries = [e for e in cache.entries_named(name) if cache.read_manifest(e)]
    if not entries:
        raise ArtifactError(f"{name!r} is neither an existing file nor a cached model", file=str(cache.root),
                            fix=f"give an .apr path, or run `sse models fetch {name}` first")
    print(f"{name}: re-hashing cached source files")
    bad = 0
    for e in entries:
        m = cache.read_manifest(e) or {}
        if m.get("sources_released"):
            print(f"{name} [{e}]: source files released after conversion; nothing to re-hash")
            continue
        for rel, info in sorted(m["files"].items()):
            p = Path(info["path"]) if os.path.isabs(info["path"]) else cache.entry_dir(e) / info["path"]
            actual = sha256_file(p) if p.exists() else "missing"
            ok = actual == info["sha256"]
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} {rel}  {actual}" + ("" if ok else f" (manifest {info['sha256']})"))
    return 1 if bad else 0
