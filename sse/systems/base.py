"""The one seam every system plugs into: prompts in, Completions out.

An adapter is built from a registry entry (`SystemSpec`) and the task; it
reports a fingerprint (what identifies its outputs for the cache), whether it
is stochastic, and whether it can run here at all.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sse.core.records import Completion, Example
from sse.task.spec import Decoding, Prompt, SystemSpec


@runtime_checkable
class Adapter(Protocol):
    spec: SystemSpec

    def fingerprint(self) -> str:
        """Identity of the outputs: model file hash, tool name+version, transpiler version."""
        ...

    def is_stochastic(self, decoding: Decoding) -> bool:
        """True when two runs with the same prompt may differ (the run index joins the key)."""
        ...

    def unavailable_reason(self) -> str | None:
        """None when the system can run here; else a one-line reason it is skipped."""
        ...

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        """One Completion per prompt, same order. Never raises for a per-prompt failure:
        the Completion's `error` says what went wrong."""
        ...


def extra_key(adapter: Adapter, example: Example) -> Any:
    """What, beyond the rendered prompt, an adapter's output depends on (optional hook)."""
    hook = getattr(adapter, "extra_key", None)
    return hook(example) if callable(hook) else None


AdapterFactory = Callable[[SystemSpec, Any], Adapter]
_FACTORIES: dict[str, AdapterFactory] = {}


def register_kind(kind: str) -> Callable[[AdapterFactory], AdapterFactory]:
    """Class/function decorator: make `kind` buildable from the registry."""

    def deco(factory: AdapterFactory) -> AdapterFactory:
        _FACTORIES[kind] = factory
        return factory

    return deco


def known_kinds() -> list[str]:
    _load_builtin_kinds()
    return sorted(_FACTORIES)


def build_adapter(spec: SystemSpec, task: Any) -> Adapter:
    from sse.core.errors import ConfigError

    _load_builtin_kinds()
    factory = _FACTORIES.get(spec.kind)
    if factory is None:
        raise ConfigError(
            f"unknown system kind {spec.kind!r}",
            file=spec.registry_file or None,
            field=f"systems.{spec.name}.kind",
            fix=f"use one of {', '.join(sorted(_FACTORIES))}",
        )
    return factory(spec, task)


_ADAPTERS: dict[str, Adapter] = {}
_ADAPTER_LOADS: Counter[str] = Counter()  # system name -> adapters built in this process
_ADAPTER_LOCK = threading.Lock()


def adapter_for(spec: SystemSpec, task: Any) -> Adapter:
    """The one adapter cache: an adapter per (registry entry, task) and process, so a native
    model is loaded once per process (the run layer and every executor use this)."""
    import dataclasses

    from sse.core.store import content_key

    key = content_key(dataclasses.asdict(spec), dataclasses.asdict(task) if dataclasses.is_dataclass(task) else task)
    with _ADAPTER_LOCK:
        if key not in _ADAPTERS:
            _ADAPTERS[key] = build_adapter(spec, task)
            _ADAPTER_LOADS[spec.name] += 1
        return _ADAPTERS[key]


def adapter_loads() -> dict[str, int]:
    """Adapters built in this process, by system (tests check a model loads once per worker)."""
    return dict(_ADAPTER_LOADS)


def clear_adapters() -> None:
    with _ADAPTER_LOCK:
        _ADAPTERS.clear()


def _load_builtin_kinds() -> None:
    import importlib

    for mod in BUILTIN_ADAPTER_MODULES:
        importlib.import_module(mod)


# Each module registers its kinds with @register_kind on import.
BUILTIN_ADAPTER_MODULES: tuple[str, ...] = (
    "sse.systems.reference",
    "sse.systems.py2many",
    "sse.systems.native",
    "sse.systems.clis",
    "sse.systems.llamacpp",
)
