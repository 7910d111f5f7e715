"""What the pipeline's doit graph calls for the convert and validate stages."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sse.artifacts.convert import DEFAULT_THRESHOLDS, LICENCE_PREFIX, convert
from sse.artifacts.validate import validate_apr
from sse.core.errors import ArtifactError, run_guarded
from sse.core.store import atomic_write_text, cache_root, content_key
from sse.runtime.loader import REF_PREFIX
from sse.task.spec import SystemSpec


def quantization_of(spec: SystemSpec) -> str:
    q = str(spec.options.get("quantization", "q8_0"))
    if q not in DEFAULT_THRESHOLDS:
        raise ArtifactError(f"quantization {q!r} is not supported", file=spec.registry_file or None,
                            field=f"systems.{spec.name}.options.quantization",
                            fix=f"use one of {', '.join(DEFAULT_THRESHOLDS)}")
    return q


def apr_path(spec: SystemSpec, cache_root: Path) -> Path:
    """Where the converted model lives: named by model, quantization and a key of the source
    and gate settings, so a changed source or threshold gives a new file."""
    q = quantization_of(spec)
    key = content_key("apr", spec.source, q, spec.options.get("gate", {}), "sse-convert/1")[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in spec.name)
    return Path(cache_root) / "models" / f"{safe}.{q}.{key}.apr"


def output_key(apr: Path) -> str:
    """What determines a native model's answers, read from the .apr header: the weights and the
    tokenizer (tensor digests), the architecture, tokenizer settings, chat template and
    quantization, and the engine version. Not the whole file: its header also records incidental
    facts (provenance, the gate's measurements and which tokenizer reference happened to be
    installed), so a re-conversion of the same model keeps every cached answer."""
    from sse.runtime.apr import AprFile
    from sse.runtime.engine import ENGINE_VERSION

    f = AprFile(apr, verify_tensors=False)
    md = f.metadata
    tensors = sorted((e.name, e.dtype, e.shape, e.xxh3) for e in f.entries.values()
                     if not e.name.startswith((REF_PREFIX, LICENCE_PREFIX)))
    return content_key("native-output/1", ENGINE_VERSION, tensors, md.get("architecture"), md.get("tokenizer"),
                       md.get("chat_template"), md.get("quantization"))


def convert_stage(spec: SystemSpec, source_files: list[Path], out: Path) -> dict[str, Any]:
    """Convert + gate; writes `out` atomically only when every gate passes. Returns the gate report."""
    gate = spec.options.get("gate") or {}
    if not isinstance(gate, dict):
        raise ArtifactError("gate thresholds must be a mapping", file=spec.registry_file or None,
                            field=f"systems.{spec.name}.options.gate", fix="e.g. {kl_mean: 0.001}")
    return convert([Path(p) for p in source_files], out, quantization_of(spec), thresholds=gate)


def validate_stage(apr: Path) -> dict[str, Any]:
    return validate_apr(apr)


# ------------------------------------------------------------------------------------------------
# doit wiring (plain dicts; this module does not import doit)
# ------------------------------------------------------------------------------------------------

def _root(cache: Path | None) -> Path:
    return Path(cache) if cache is not None else cache_root()


def sources_list_path(spec: SystemSpec, cache: Path | None = None) -> Path:
    return apr_path(spec, _root(cache)).with_suffix(".sources.json")


def validated_path(spec: SystemSpec, cache: Path | None = None) -> Path:
    """Marker written when the .apr passed validation (its JSON is the validation report)."""
    return apr_path(spec, _root(cache)).with_suffix(".validated.json")


def gate_report_path(spec: SystemSpec, cache: Path | None = None) -> Path:
    return apr_path(spec, _root(cache)).with_suffix(".gate.json")


def _explicit_apr(spec: SystemSpec) -> Path | None:
    p = spec.options.get("apr") or spec.source.get("apr")
    return Path(str(p)) if p else None


def fetch_sources(spec: SystemSpec, cache: Path | None = None) -> list[Path]:
    """The acquisition layer's files (sha256-checked, pickle-free), listed in a small JSON target."""
    from sse.artifacts.fetch import fetch_model

    res = fetch_model(spec)
    files = [Path(p) for p in res.files]
    atomic_write_text(sources_list_path(spec, cache), json.dumps([str(p) for p in files], indent=1))
    return files


def _model_cache(apr: Path) -> Any:
    from sse.artifacts.modelcache import ModelCache

    return ModelCache(apr.parent)


def _convert_pinned(spec: SystemSpec, apr: Path, cache: Path | None, listed: list[Path] | None) -> None:
    """Fetch what is missing, convert and gate, with the sources pinned while they are read, then
    keep the model cache within its bound (this model stays: its caller is about to use it)."""
    from sse.artifacts.fetch import entry_name
    from sse.artifacts.modelcache import ModelCache

    models = _model_cache(apr)
    with ModelCache().pin(entry_name(spec)) if spec.source else contextlib.nullcontext():
        files = listed if listed is not None and all(p.exists() for p in listed) else None
        if files is None:  # first conversion, or the sources were released or evicted since
            files = fetch_sources(spec, cache)
        rep = convert_stage(spec, files, apr)
    atomic_write_text(gate_report_path(spec, cache), json.dumps(rep, indent=1, default=str))
    models.touch(apr.name)
    models.enforce_limit(keep={apr.name})


def ensure_apr(spec: SystemSpec, cache: Path | None = None, *, hold: bool = False) -> Path:
    """The validated .apr for a native system: explicit path, or fetch + convert + validate on demand
    (again after the model cache evicted it). `hold` keeps it from eviction for the rest of this
    process (an evaluation that uses it); the pin is taken before the file is looked at."""
    explicit = _explicit_apr(spec)
    if explicit is not None:
        if not explicit.is_file():
            raise ArtifactError("no such .apr file", file=spec.registry_file or None,
                                field=f"systems.{spec.name}.options.apr", fix=f"convert the model to {explicit}")
        return explicit
    apr = apr_path(spec, _root(cache))
    models = _model_cache(apr)
    if hold:
        models.hold(apr.name)
    with models.pin(apr.name):
        if not apr.exists():
            with models.entry_lock(apr.name):  # one conversion per model, whoever asks
                if not apr.exists():
                    _convert_pinned(spec, apr, cache, None)
        marker = validated_path(spec, cache)
        if not marker.exists():
            atomic_write_text(marker, json.dumps(validate_stage(apr), indent=1, default=str))
        models.touch(apr.name)
    return apr


def action_fetch(spec: SystemSpec) -> bool:
    return run_guarded(fetch_sources, spec)


def _convert_from_list(spec: SystemSpec) -> None:
    apr = apr_path(spec, cache_root())
    models = _model_cache(apr)
    with models.pin(apr.name), models.entry_lock(apr.name):
        _convert_pinned(spec, apr, None, [Path(p) for p in json.loads(sources_list_path(spec).read_text())])


def action_convert(spec: SystemSpec) -> bool:
    return run_guarded(_convert_from_list, spec)


def _validate_to_marker(spec: SystemSpec) -> None:
    apr = apr_path(spec, cache_root())
    with _model_cache(apr).pin(apr.name):
        rep = validate_stage(apr)
    atomic_write_text(validated_path(spec), json.dumps(rep, indent=1, default=str))


def action_validate(spec: SystemSpec) -> bool:
    return run_guarded(_validate_to_marker, spec)


def doit_model_tasks(spec: SystemSpec) -> Iterator[dict[str, Any]]:
    """fetch -> convert -> validate for one native system, as doit task dicts."""
    explicit = _explicit_apr(spec)
    if explicit is not None:
        yield {"basename": "validate", "name": spec.name, "actions": [(action_validate_explicit, [spec])],
               "file_dep": [str(explicit)], "targets": [str(validated_path(spec))],
               "doc": f"validate {explicit}"}
        return
    apr = apr_path(spec, cache_root())
    yield {"basename": "fetch", "name": spec.name, "actions": [(action_fetch, [spec])],
           "targets": [str(sources_list_path(spec))], "uptodate": [True],  # the path is keyed by the source
           "doc": f"fetch {spec.name}"}
    yield {"basename": "convert", "name": spec.name, "actions": [(action_convert, [spec])],
           "file_dep": [str(sources_list_path(spec))], "targets": [str(apr), str(gate_report_path(spec))],
           "doc": f"convert {spec.name} to .apr ({quantization_of(spec)}, KL-gated)"}
    yield {"basename": "validate", "name": spec.name, "actions": [(action_validate, [spec])],
           "file_dep": [str(apr)], "targets": [str(validated_path(spec))],
           "doc": f"validate {apr.name}"}


def _validate_explicit(spec: SystemSpec) -> None:
    apr = _explicit_apr(spec)
    assert apr is not None
    atomic_write_text(validated_path(spec), json.dumps(validate_stage(apr), indent=1, default=str))


def action_validate_explicit(spec: SystemSpec) -> bool:
    return run_guarded(_validate_explicit, spec)
