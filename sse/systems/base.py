"""The one seam every system plugs into: prompts in, Completions out.

An adapter is built from a registry entry (`SystemSpec`) and the task; it
reports a fingerprint (what identifies its outputs for the cache), whether it
is stochastic, and whether it can run here at all.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

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


DEFAULT_BATCH = 4  # prompts per generate() call unless the adapter says otherwise


@dataclass(frozen=True)
class Traits:
    """What the run layer and the analysis need to know about a system, as its adapter declares it."""

    batch_size: int = DEFAULT_BATCH  # prompts per generate() call (completions are stored after each)
    local: bool = True  # runs on this machine (priced by machine time) rather than a remote service
    oracle: bool = False  # reads the answer key: certifies the tests, not a contender
    pricing_basis: str | None = None  # "tokens", "machine_time", "none"; None: the analysis decides
    price_model: str | None = None  # the price-table row for token pricing
    prompt_style: str | None = None  # chat / completion, when the adapter fixed it


class AdapterBase:
    """Defaults for every trait and hook; an adapter overrides what differs (class or instance
    attributes, or properties). Kinds outside this package subclass it too."""

    spec: SystemSpec
    batch_size: int = DEFAULT_BATCH
    local: bool = True
    oracle: bool = False
    pricing_basis: str | None = None
    price_model: str | None = None
    prompt_style: str | None = None
    #: option names this kind reads; None: not declared (no check). Unknown options are a ConfigError.
    known_options: ClassVar[frozenset[str] | None] = None

    def traits(self) -> Traits:
        return Traits(
            batch_size=int(self.batch_size),
            local=bool(self.local),
            oracle=bool(self.oracle),
            pricing_basis=self.pricing_basis,
            price_model=self.price_model,
            prompt_style=self.prompt_style,
        )

    def extra_key(self, example: Example) -> Any:
        """What, beyond the rendered prompt, the output depends on (None: nothing)."""
        return None

    @classmethod
    def check_options(cls, spec: SystemSpec) -> None:
        """Strict option validation: an option this kind does not read is a one-line ConfigError."""
        if cls.known_options is None:
            return
        unknown = sorted(set(spec.options) - cls.known_options)
        if unknown:
            from sse.core.errors import ConfigError

            raise ConfigError(
                f"unknown option {unknown[0]!r} for a {spec.kind} system",
                file=spec.registry_file or None,
                field=f"systems.{spec.name}.options.{unknown[0]}",
                fix=f"use one of {', '.join(sorted(cls.known_options)) or '(none)'}",
            )

    # graph-time knowledge, asked before any adapter is built
    @classmethod
    def static_identity(cls, spec: SystemSpec) -> str | None:
        """What identifies the system at graph-load time without building it; None: build and ask."""
        return None

    @classmethod
    def stage_deps(cls, spec: SystemSpec) -> list[str]:
        """Files generation needs beyond the examples (e.g. a validated model file)."""
        return []

    @classmethod
    def stage_tasks(cls, spec: SystemSpec) -> Iterator[dict[str, Any]]:
        """Graph tasks (plain dicts) that make those files (fetch, convert, validate)."""
        return iter(())


def count_option(spec: SystemSpec, name: str) -> int | None:
    """An optional positive integer option (threads, batch sizes): None when absent; one line when not an integer."""
    raw = spec.options.get(name)
    if raw is None:
        return None
    try:
        return max(1, int(raw))
    except (TypeError, ValueError) as e:
        from sse.core.errors import SystemError_

        raise SystemError_(
            f"bad option ({e})",
            file=spec.registry_file or None,
            field=f"systems.{spec.name}.options.{name}",
            fix=f"{name} is an integer",
        ) from e


def traits(adapter: Adapter) -> Traits:
    """The adapter's declared traits; an adapter not built on AdapterBase gets the defaults."""
    return adapter.traits() if isinstance(adapter, AdapterBase) else Traits()


def extra_key(adapter: Adapter, example: Example) -> Any:
    """What, beyond the rendered prompt, an adapter's output depends on."""
    return adapter.extra_key(example) if isinstance(adapter, AdapterBase) else None


def kind_class(kind: str) -> type[AdapterBase]:
    """The class that holds a kind's graph-time knowledge (AdapterBase for plain factories)."""
    _load_builtin_kinds()
    factory = _FACTORIES.get(kind)
    return factory if isinstance(factory, type) and issubclass(factory, AdapterBase) else AdapterBase


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
    if isinstance(factory, type) and issubclass(factory, AdapterBase):
        factory.check_options(spec)
    return factory(spec, task)


_ADAPTERS: dict[str, Adapter] = {}
_ADAPTER_LOADS: Counter[str] = Counter()  # system name -> adapters built in this process
_ADAPTER_LOCK = threading.Lock()


def adapter_for(spec: SystemSpec, task: Any) -> Adapter:
    """The one adapter cache: an adapter per (registry entry, task) and process, so a native
    model is loaded once per process (the run layer and every executor use this)."""
    import dataclasses

    from sse.core.store import content_key

    key = content_key(
        dataclasses.asdict(spec), dataclasses.asdict(task) if dataclasses.is_dataclass(task) else task
    )
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


ENTRY_POINT_GROUP = "sse.systems"  # other packages add kinds: name = kind, value = module:factory


def _load_builtin_kinds() -> None:
    """Import the built-in adapter modules (each registers its kinds), then the kinds other
    packages declare under the `sse.systems` entry point (a kind registered already wins)."""
    import importlib
    from importlib.metadata import entry_points

    for mod in BUILTIN_ADAPTER_MODULES:
        importlib.import_module(mod)
    if not _ENTRY_POINTS_READ:
        _ENTRY_POINTS_READ.append(True)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _FACTORIES.setdefault(ep.name, ep.load())


_ENTRY_POINTS_READ: list[bool] = []  # entry points are read once per process


# Each module registers its kinds with @register_kind on import.
BUILTIN_ADAPTER_MODULES: tuple[str, ...] = (
    "sse.systems.reference",
    "sse.systems.py2many",
    "sse.systems.native",
    "sse.systems.clis",
    "sse.systems.llamacpp",
)
