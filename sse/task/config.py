"""Task and model-registry YAML -> typed objects, strictly.

Every problem is a one-line ConfigError naming the file, the dotted key and a
fix: unknown keys, wrong types, missing files, unknown prompt placeholders.
"""

from __future__ import annotations

import functools
import glob
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sse.core.errors import ConfigError
from sse.task.spec import AutoRuns, Decoding, Prices, SystemSpec

PLACEHOLDERS = frozenset(
    {"python_code", "rust_signature", "entry_point", "example_id", "crates", "program_name", "usage"}
)
GROUND_TRUTH_TYPES = ("compiler", "program")
BUNDLED_PREFIX = "bundled:"


@dataclass(frozen=True)
class Limits:
    compile_timeout_s: float = 120.0
    test_timeout_s: float = 10.0
    memory_mb: int = 1024
    max_output_bytes: int = 1 << 20


@dataclass(frozen=True)
class GroundTruth:
    type: str = "compiler"
    run_tests: bool = True
    crates: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    allow_unsafe: bool = False  # function candidates may use unsafe: each is then compiled and run alone
    plus: bool = True  # also judge on base+plus where the corpus stores plus tests (`_plus/`), beside base


@dataclass(frozen=True)
class TaskConfig:
    id: str
    path: str
    description: str
    corpus: str  # resolved path, or "bundled:NAME"
    runs: int
    systems: tuple[str, ...]
    registry: str
    price_table: str | None
    machine_price_per_hour: float
    decoding: Decoding
    system_prompt: str
    user_template: str
    ground_truth: GroundTruth
    seed: int = 0  # evaluation.seed: the decoding seed, part of every generation key (as decoding.seed)
    analysis_seed: int = 0  # analysis.seed: the bootstrap's; changing it regenerates nothing
    baseline: str | None = None
    bootstrap_resamples: int = 10_000
    prompt_style: str = "auto"  # sse.task.prompting.PROMPT_STYLES
    auto_runs: AutoRuns | None = None  # `runs: auto`: `runs` is then its max_runs

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) prompts with placeholders filled."""
        return self.system_prompt.format(**values), self.user_template.format(**values)


# ---------------------------------------------------------------- validation
def _load_yaml(path: Path) -> Any:
    if not path.exists():
        raise ConfigError("file not found", file=str(path), fix="check the path or glob")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the file ({e.strerror})", file=str(path),
                          fix="point at a readable YAML file") from None
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[e.start]:02x} at line {line})", file=str(path),
                          field="<file>", fix="save the file as UTF-8") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"malformed YAML at {where}: {problem}", file=str(path),
                          fix="correct the YAML syntax (indentation, quotes, colons)") from None


#: keys that were once accepted and never read: refused with what to do instead
RETIRED_KEYS = {
    "task.domain": "delete it: sse does not read it (the task's `description` says what the task is)",
    "evaluation.samples": "delete it: samples per example are `evaluation.runs`",
    "evaluation.metrics": "delete it: the report's statistics are fixed (docs/statistics.md)",
}

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true/false",
               list: "a list", dict: "a mapping"}


class _Section:
    """Typed reader of one mapping that remembers which keys were consumed."""

    def __init__(self, data: Any, file: Path, where: str, allowed: set[str]) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", file=str(file),
                              field=where or "<top>", fix="write `key: value` lines under it")
        self.data, self.file, self.where = data, file, where
        for k in data:
            if self._f(str(k)) in RETIRED_KEYS:
                raise ConfigError(f"{k!r} is not used", file=str(file), field=self._f(str(k)),
                                  fix=RETIRED_KEYS[self._f(str(k))])
            if k not in allowed:
                raise ConfigError(f"unknown key {k!r}", file=str(file), field=self._f(str(k)),
                                  fix=f"use one of: {', '.join(sorted(allowed))}")

    def _f(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, typ: type | tuple[type, ...], default: Any = ..., *, required: bool = False) -> Any:
        if key not in self.data or self.data[key] is None:
            if required or default is ...:
                raise ConfigError("missing required key", file=str(self.file), field=self._f(key),
                                  fix=f"add `{key}:`")
            return default
        v = self.data[key]
        types = typ if isinstance(typ, tuple) else (typ,)
        ok = isinstance(v, types) and not (isinstance(v, bool) and bool not in types)
        if not ok and float in types and isinstance(v, int) and not isinstance(v, bool):
            v, ok = float(v), True
        if not ok:
            want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise ConfigError(f"expected {want}, got {type(v).__name__} {v!r}"[:160], file=str(self.file),
                              field=self._f(key), fix=f"give {want}")
        return v

    def section(self, key: str, allowed: set[str]) -> _Section:
        return _Section(self.data.get(key), self.file, self._f(key), allowed)


def _check_placeholders(template: str, file: Path, fieldname: str) -> None:
    try:
        names = {fname for _, fname, _, _ in string.Formatter().parse(template) if fname is not None}
    except ValueError as e:
        raise ConfigError(f"bad template: {e}", file=str(file), field=fieldname,
                          fix="write literal braces as {{ and }}") from None
    for n in names:
        base = n.split(".")[0].split("[")[0]
        if base not in PLACEHOLDERS:
            raise ConfigError(f"unknown placeholder {{{n}}}", file=str(file), field=fieldname,
                              fix=f"use one of {{{'}, {'.join(sorted(PLACEHOLDERS))}}} or escape braces as {{{{ }}}}")


_AUTO_KEYS = {"min": "min_runs", "max": "max_runs", "half_width": "half_width",
              "paired_half_width": "paired_half_width", "budget_dollars": "budget_dollars",
              "confidence": "confidence", "min_gain": "min_gain"}


def _runs(ev: _Section, path: Path) -> tuple[int, AutoRuns | None]:
    """`runs: N`, `runs: auto` (the default rule) or `runs: {min, max, half_width, ...}` (auto with these)."""
    raw = ev.data.get("runs", 5)
    if raw == "auto" or isinstance(raw, dict):
        sec = ev.section("runs", set(_AUTO_KEYS)) if isinstance(raw, dict) else None
        kw: dict[str, Any] = {}
        for key, name in _AUTO_KEYS.items():
            if sec is not None and sec.data.get(key) is not None:
                kw[name] = sec.get(key, int if key in ("min", "max") else float)
        if sec is not None and "half_width" not in kw and "paired_half_width" in kw:
            kw["half_width"] = None  # the paired target alone
        try:
            rule = AutoRuns(**kw)
        except ValueError as e:
            raise ConfigError(str(e), file=str(path), field="evaluation.runs",
                              fix="e.g. runs: {min: 3, max: 10, half_width: 0.03}") from None
        return rule.max_runs, rule
    if isinstance(raw, str):
        raise ConfigError(f"expected an integer or auto, got {raw!r}"[:160], file=str(path),
                          field="evaluation.runs", fix="runs: 5, or runs: auto")
    runs = ev.get("runs", int, 5)
    if runs < 1:
        raise ConfigError(f"runs must be >= 1, got {runs}", file=str(path), field="evaluation.runs",
                          fix="runs: 5, or runs: auto")
    return runs, None


def load_task(path: str | Path) -> TaskConfig:
    from sse.task.prompting import check_completion_allowed, check_prompt_style, check_stop_policy

    path = Path(path)
    raw = _load_yaml(path)
    top = _Section(raw, path, "", {"task", "evaluation", "prompts", "ground_truth", "analysis"})
    t = top.section("task", {"id", "description", "corpus"})
    ev = top.section("evaluation", {"runs", "systems", "registry", "price_table", "machine_price_per_hour",
                                    "temperature", "top_p", "max_tokens", "timeout_s", "seed", "stop",
                                    "stop_policy"})
    pr = top.section("prompts", {"system", "user_template", "style"})
    gt = top.section("ground_truth", {"type", "run_tests", "crates", "limits", "allow_unsafe", "plus"})
    an = top.section("analysis", {"baseline", "bootstrap_resamples", "seed"})

    task_id = t.get("id", str, required=True)
    corpus = t.get("corpus", str, required=True)
    if corpus.startswith(BUNDLED_PREFIX):
        from sse.task.corpus import bundled_corpus_path

        try:
            bundled_corpus_path(corpus[len(BUNDLED_PREFIX):])
        except KeyError as e:
            raise ConfigError(f"no bundled corpus {corpus!r}", file=str(path), field="task.corpus",
                              fix=f"use one of {e.args[0]}") from None
    else:
        cp = (path.parent / corpus).resolve()
        if not cp.exists():
            raise ConfigError(f"corpus not found: {cp}", file=str(path), field="task.corpus",
                              fix="give a path relative to the task file, or bundled:functions")
        corpus = str(cp)

    runs, auto_runs = _runs(ev, path)
    systems = ev.get("systems", list, required=True)
    if not systems or not all(isinstance(s, str) for s in systems):
        raise ConfigError("expected a non-empty list of system names", file=str(path),
                          field="evaluation.systems", fix="e.g. systems: [reference, py2many]")
    registry = str((path.parent / ev.get("registry", str, "models.yaml")).resolve())
    if not Path(registry).exists():
        raise ConfigError(f"registry not found: {registry}", file=str(path), field="evaluation.registry",
                          fix="point it at a model registry YAML such as tasks/models.yaml")
    price_table = ev.get("price_table", str, None)
    if price_table is not None:
        price_table = str((path.parent / price_table).resolve())
        if not Path(price_table).exists():
            raise ConfigError(f"price table not found: {price_table}", file=str(path),
                              field="evaluation.price_table", fix="point it at tasks/prices.yaml")
    mpph = ev.get("machine_price_per_hour", float, required=True)
    stop = ev.get("stop", list, [])
    seed = ev.get("seed", int, 0)
    decoding = Decoding(
        temperature=ev.get("temperature", float, 0.0),
        top_p=ev.get("top_p", float, 1.0),
        max_tokens=ev.get("max_tokens", int, 512),
        timeout_s=ev.get("timeout_s", float, 120.0),
        seed=seed,
        stop=tuple(str(s) for s in stop),
        stop_policy=check_stop_policy(ev.get("stop_policy", str, "code_block"), file=str(path),
                                      field="evaluation.stop_policy"),
    )
    system_prompt = pr.get("system", str, required=True)
    user_template = pr.get("user_template", str, required=True)
    _check_placeholders(system_prompt, path, "prompts.system")
    _check_placeholders(user_template, path, "prompts.user_template")

    gtype = gt.get("type", str, "compiler")
    if gtype not in GROUND_TRUTH_TYPES:
        raise ConfigError(f"unknown ground truth type {gtype!r}", file=str(path), field="ground_truth.type",
                          fix=f"use one of {', '.join(GROUND_TRUTH_TYPES)}")
    lim = gt.section("limits", {"compile_timeout_s", "test_timeout_s", "memory_mb", "max_output_bytes"})
    limits = Limits(
        compile_timeout_s=lim.get("compile_timeout_s", float, 120.0),
        test_timeout_s=lim.get("test_timeout_s", float, 10.0),
        memory_mb=lim.get("memory_mb", int, 1024),
        max_output_bytes=lim.get("max_output_bytes", int, 1 << 20),
    )
    crates = gt.get("crates", list, [])
    prompt_style = check_prompt_style(pr.get("style", str, "auto"), file=str(path), field="prompts.style")
    check_completion_allowed(prompt_style, gtype, file=str(path), field="prompts.style")
    ground = GroundTruth(type=gtype, run_tests=gt.get("run_tests", bool, True),
                         crates=tuple(sorted(str(c) for c in crates)), limits=limits,
                         allow_unsafe=gt.get("allow_unsafe", bool, False), plus=gt.get("plus", bool, True))
    cfg = TaskConfig(
        id=task_id, path=str(path.resolve()), description=t.get("description", str, ""), corpus=corpus,
        runs=runs, systems=tuple(systems), registry=registry, price_table=price_table,
        machine_price_per_hour=mpph, decoding=decoding, system_prompt=system_prompt,
        user_template=user_template, ground_truth=ground, seed=seed, analysis_seed=an.get("seed", int, seed),
        prompt_style=prompt_style,
        baseline=an.get("baseline", str, None), bootstrap_resamples=an.get("bootstrap_resamples", int, 10_000),
        auto_runs=auto_runs,
    )
    if auto_runs is not None and auto_runs.paired_half_width is not None and cfg.baseline is None:
        raise ConfigError("a paired target needs a baseline to pair with", file=str(path),
                          field="evaluation.runs.paired_half_width", fix="set analysis.baseline: SYSTEM")
    return cfg


def load_tasks(pattern: str) -> list[TaskConfig]:
    paths = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
    if not paths:
        raise ConfigError("no task file matches", file=pattern, fix="check the glob, e.g. 'tasks/*.yaml'")
    return [load_task(p) for p in paths if not Path(p).name.startswith(("models", "prices"))]


def load_registry(path: str | Path) -> dict[str, SystemSpec]:
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = -1
    return dict(_load_registry(str(path.resolve()), mtime))


@functools.cache
def _load_registry(path_s: str, mtime_ns: int) -> tuple[tuple[str, SystemSpec], ...]:
    path = Path(path_s)
    raw = _load_yaml(path)
    top = _Section(raw, path, "", {"systems"})
    systems = top.section("systems", set(raw.get("systems", {}) or {}) if isinstance(raw, dict) else set())
    out: dict[str, SystemSpec] = {}
    for name in systems.data:
        s = systems.section(str(name), {"kind", "version", "source", "prices", "options", "description"})
        kind = s.get("kind", str, required=True)
        source = s.get("source", dict, {})
        options = s.get("options", dict, {})
        p = s.section("prices", {"input_per_mtok", "output_per_mtok", "date", "source"})
        prices = Prices(
            input_per_mtok=p.get("input_per_mtok", float, None),
            output_per_mtok=p.get("output_per_mtok", float, None),
            date=str(p.get("date", (str, object), None)) if p.data.get("date") is not None else None,
            source=p.get("source", str, None),
        )
        version = s.get("version", (str, int, float), None)
        out[str(name)] = SystemSpec(name=str(name), kind=kind, version=None if version is None else str(version),
                                    source=source, prices=prices, options=options, registry_file=str(path))
    return tuple(out.items())


def systems_for(task: TaskConfig, names: list[str] | None = None) -> list[SystemSpec]:
    """The registry entries a task (or an explicit --models list) asks for, in order."""
    reg = load_registry(task.registry)
    wanted = list(names) if names else list(task.systems)
    out = []
    for n in wanted:
        if n not in reg:
            raise ConfigError(f"unknown system {n!r}", file=task.registry if names else task.path,
                              field="--models" if names else "evaluation.systems",
                              fix=f"use one of {', '.join(sorted(reg))} or add it to {Path(task.registry).name}")
        out.append(reg[n])
    return out
