"""Plus tests: more inputs per function example, in EvalPlus's manner, kept only where they add evidence.
Why one module of ~860 lines: one path from seed inputs to the kept set, whose steps share the per-position statistics and the sandboxed runner script.


Why: 3-6 hand-written cases let wrong translations through (EvalPlus measured a 13-19 point drop
of pass@1 on HumanEval once tests were generated from the types and checked against the
reference). Here, per function example:

1. Inputs: type-aware mutation of the seed inputs (the base tests' arguments; ints +-1, negated,
   swapped for other seeds, strings cut, grown or swapped from the seeds' alphabet, list elements
   dropped, duplicated, swapped, mutated ...), chained 1-3 times, plus `hypothesis` strategies for
   the annotated types. Both stay inside what the seeds imply (a parameter whose seeds are all
   >= 0 stays >= 0, sizes within twice the seeds'), which stands in for EvalPlus's contracts.
2. Expected values: the corpus Python is run on every input in the sandbox
   (`sse.core.sandbox.run_sandboxed`, a throw-away uid, no network), twice, under a per-call
   timer. A raising input becomes an `Err` case only when the example is already fallible
   (its base tests raise) and with an exception class the base tests raise: anything else would
   change the Rust signature shown to the model or leave the seeds' domain. Hangs, limit
   breaches, results that are not literals or differ between the two runs are dropped.
3. Deduplicated, then reduced greedily to the few inputs that keep every Python mutant kill
   (`sse.task.corpus.astmutants`) and every branch arc the full set has, beyond the base tests.
4. Stored beside the corpus (`<folder>/_plus/<id>.json`, or `<name>.plus/` next to a .jsonl),
   with provenance (counts at each step, mutants, arcs, seed, versions) and the key of what
   they were computed from: recomputed only when the example's Python or base tests change.

Plus cases are ordinary `TestCase`s appended after the base ones (`with_plus`), so any scorer
judges them like the base cases; `views` reads "base" and "base+plus" off one verdict's
per-test outcomes. The signature (types, fallibility) comes from the caller (the scorers' type
model), which keeps this module below the scorers.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import random
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from sse.core.records import Example, TestCase, Verdict, decode_value, encode_value
from sse.core.sandbox import SandboxLimits, run_sandboxed
from sse.core.store import content_key
from sse.core.values import same_value as _same  # the one equality of expected values
from sse.task.corpus import astmutants
from sse.task.corpus.sandboxed import sandbox_python

GENERATOR_VERSION = 3
PLUS_DIR = "_plus"
N_MUTATION = 150
N_HYPOTHESIS = 100
MAX_MUTANTS = 40
MAX_PLUS = 30  # per example, after reduction
KILLS_PER_MUTANT = 3  # keep up to this many distinct killers of each mutant (one is too easily equivalent
#                       to what the base tests already check)
CALL_TIMEOUT_S = 0.5
MUTANT_CALL_TIMEOUT_S = 0.25
MUTANT_BUDGET_S = 3.0
INT_ABS_MAX = 2**31
DROP_ALWAYS = frozenset({"RecursionError", "MemoryError", "KeyboardInterrupt", "SystemExit"})


class TypeLike(Protocol):
    """The scorers' PyType (kind: int|float|bool|str|none|list|tuple|dict|set|option; args)."""

    kind: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class SignatureInfo:
    """What generation needs of the entry point's typed signature."""

    params: tuple[tuple[str, TypeLike, bool, Any], ...]  # name, type, has_default, default
    ret: TypeLike
    fallible: bool


@dataclass(frozen=True)
class PlusSet:
    example_id: str
    key: str
    tests: tuple[TestCase, ...]
    provenance: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ keys and storage
def plus_key(example: Example, seed: int = 0) -> str:
    """What the plus tests depend on: the Python, the entry point, the base tests, the generator."""
    tests = [[encode_value(tuple(t.args)), encode_value(t.expected), t.raises, encode_value(dict(t.kwargs))]
             for t in example.tests]
    return content_key("plus_tests", GENERATOR_VERSION, astmutants.MUTATOR_VERSION, example.python,
                       example.entry_point, tests, seed, sys.version_info[:2])


def plus_dir(corpus_path: str | Path) -> Path:
    """Where a corpus's plus tests live: `_plus/` inside a folder corpus, `<name>.plus/` beside a file."""
    p = Path(corpus_path)
    return p.with_name(p.stem + ".plus") if p.is_file() else p / PLUS_DIR


def program_plus_path(example: Example) -> Path:
    """Where a program example's differential plus argvs live: `_plus/<id>.json` beside its folder."""
    assert example.folder, "a program example has a folder"
    return Path(example.folder).parent / PLUS_DIR / f"{example.id}.json"


def _tc_to_json(t: TestCase, why: Sequence[str] = ()) -> dict[str, Any]:
    return {"args": encode_value(tuple(t.args)), "expected": encode_value(t.expected), "raises": t.raises,
            "kwargs": encode_value(dict(t.kwargs)), "why": list(why)}


def _tc_from_json(d: dict[str, Any]) -> TestCase:
    return TestCase(args=tuple(decode_value(d["args"])), expected=decode_value(d["expected"]),
                    raises=d.get("raises"), kwargs=decode_value(d.get("kwargs") or {"$dict": []}))


def save_plus(folder: Path, plus: PlusSet, why: Sequence[Sequence[str]] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    whys = list(why) + [[]] * (len(plus.tests) - len(why))
    doc = {"format": 1, "example_id": plus.example_id, "key": plus.key, "provenance": plus.provenance,
           "tests": [_tc_to_json(t, w) for t, w in zip(plus.tests, whys, strict=True)]}
    path = folder / f"{plus.example_id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_plus(corpus_path: str | Path, examples: Sequence[Example], seed: int = 0
              ) -> tuple[dict[str, PlusSet], list[str]]:
    """Fresh plus sets by example id, and the ids whose stored set is missing or stale."""
    folder = plus_dir(corpus_path)
    fresh: dict[str, PlusSet] = {}
    stale: list[str] = []
    for e in examples:
        if e.kind != "function":
            continue
        f = folder / f"{e.id}.json"
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            stale.append(e.id)
            continue
        if doc.get("key") != plus_key(e, seed):
            stale.append(e.id)
            continue
        fresh[e.id] = PlusSet(e.id, doc["key"], tuple(_tc_from_json(t) for t in doc["tests"]), doc["provenance"])
    return fresh, stale


def plus_to_row(plus: PlusSet) -> dict[str, Any]:
    """A plus set as the run layer carries it on a corpus row (key and cases, no provenance)."""
    return {"key": plus.key, "tests": [_tc_to_json(t) for t in plus.tests]}


def plus_from_row(example_id: str, row: dict[str, Any]) -> PlusSet:
    return PlusSet(example_id, str(row["key"]), tuple(_tc_from_json(t) for t in row["tests"]))


def with_plus(example: Example, plus: PlusSet | None) -> Example:
    """The example judged on base+plus: the plus cases appended after the base ones."""
    if plus is None:
        return example
    return replace(example, tests=example.tests + plus.tests,
                   meta={**example.meta, "plus": {"base": len(example.tests), "plus": len(plus.tests),
                                                  "key": plus.key}})


def views(example: Example, verdict: Verdict) -> dict[str, bool]:
    """Pass on "base" and on "base+plus" from one verdict of the example with its plus cases."""
    n_base = int(example.meta.get("plus", {}).get("base", len(example.tests)))
    return split_views(verdict, n_base, len(example.tests))


def split_views(verdict: Verdict, n_base: int, n_tests: int) -> dict[str, bool]:
    """The two views of one verdict whose first `n_base` of `n_tests` cases are the base ones.

    Outcomes are in test order (the scorer's contract); without per-test outcomes (no code,
    compile error) both views are the verdict's own. A program verdict carries its differential
    plus cases in `meta["plus"]` (scored beside the suite): base+plus needs both to pass."""
    full = verdict.status == "pass"
    prog = verdict.meta.get("plus") if isinstance(verdict.meta, dict) else None
    if isinstance(prog, dict) and "status" in prog:
        return {"base": full, "base+plus": full and prog["status"] == "pass"}
    outs = verdict.tests
    if full or len(outs) != n_tests:
        return {"base": full, "base+plus": full}
    return {"base": all(o.status == "pass" for o in outs[:n_base]), "base+plus": False}


# ------------------------------------------------------------------ seeds and their domain
@dataclass
class _Stats:
    """What the seeds say about one position of the type tree."""

    ints: list[int] = field(default_factory=list)
    floats: list[float] = field(default_factory=list)
    strs: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    saw_none: bool = False
    values: list[Any] = field(default_factory=list)


def _collect(v: Any, t: TypeLike, path: tuple[Any, ...], stats: dict[tuple[Any, ...], _Stats]) -> None:
    s = stats.setdefault(path, _Stats())
    if len(s.values) < 50:
        s.values.append(v)
    k = t.kind
    if v is None:
        s.saw_none = True
        return
    if k == "option":
        _collect(v, t.args[0], (*path, "some"), stats)
    elif k == "int" and isinstance(v, int) and not isinstance(v, bool):
        s.ints.append(v)
    elif k == "float" and isinstance(v, (int, float)) and not isinstance(v, bool):
        s.floats.append(float(v))
    elif k == "str" and isinstance(v, str):
        s.strs.append(v)
    elif k in ("list", "set") and isinstance(v, (list, tuple, set, frozenset)):
        s.sizes.append(len(v))
        for x in v:
            _collect(x, t.args[0], (*path, "e"), stats)
    elif k == "dict" and isinstance(v, dict):
        s.sizes.append(len(v))
        for a, b in v.items():
            _collect(a, t.args[0], (*path, "k"), stats)
            _collect(b, t.args[1], (*path, "v"), stats)
    elif k == "tuple" and isinstance(v, (tuple, list)) and len(v) == len(t.args):
        for i, (x, tt) in enumerate(zip(v, t.args, strict=True)):
            _collect(x, tt, (*path, i), stats)


def _int_range(s: _Stats) -> tuple[int, int]:
    if not s.ints:
        return -10, 10
    lo, hi = min(s.ints), max(s.ints)
    span = max(10, hi - lo, max(abs(lo), abs(hi)))
    a = lo - span if lo < 0 else (max(0, lo - span) if lo > 0 else 0)
    if lo >= 1:
        a = max(1, a)
    return max(-INT_ABS_MAX, a), min(INT_ABS_MAX, hi + span)


def _float_range(s: _Stats) -> tuple[float, float]:
    if not s.floats:
        return -10.0, 10.0
    lo, hi = min(s.floats), max(s.floats)
    span = max(10.0, hi - lo, abs(lo), abs(hi))
    a = lo - span if lo < 0 else max(0.0, lo - span)
    return a, hi + span


def _size_range(s: _Stats) -> tuple[int, int]:
    if not s.sizes:
        return 0, 6
    return (0 if min(s.sizes) == 0 else 1), min(24, max(s.sizes) * 2 + 3)


def _alphabet(s: _Stats) -> str:
    chars = sorted({c for x in s.strs for c in x})
    return "".join(chars) or "abcdefghij"


def _classes(v: Any, path: str, out: set[str]) -> None:
    """Category-partition classes of a value (sign, emptiness, size, duplicates, order, case ...):
    the edge cases where translations go wrong, as features an input either shows or not."""
    if v is None:
        out.add(f"{path}:none")
    elif isinstance(v, bool):
        out.add(f"{path}:{v}")
    elif isinstance(v, int):
        out.add(f"{path}:" + ("neg" if v < 0 else "zero" if v == 0 else "pos"))
        if abs(v) >= 1000:
            out.add(f"{path}:big")
    elif isinstance(v, float):
        out.add(f"{path}:" + ("neg" if v < 0 else "zero" if v == 0 else "pos"))
        out.add(f"{path}:" + ("integral" if v == int(v) else "fraction") if math.isfinite(v) else f"{path}:inf")
    elif isinstance(v, str):
        out.add(f"{path}:" + ("empty" if not v else "one" if len(v) == 1 else "many"))
        for name, test in (("space", str.isspace), ("upper", str.isupper), ("digit", str.isdigit),
                           ("punct", lambda c: not c.isalnum() and not c.isspace())):
            if any(test(c) for c in v):
                out.add(f"{path}:{name}")
    elif isinstance(v, (list, tuple, set, frozenset)):
        xs = list(v)
        out.add(f"{path}:" + ("empty" if not xs else "one" if len(xs) == 1 else "many"))
        if isinstance(v, list) and len(xs) > 1:
            try:
                out.add(f"{path}:" + ("dups" if len({_canon((x,)) for x in xs}) < len(xs) else "distinct"))
                out.add(f"{path}:" + ("ascending" if xs == sorted(xs) else "descending" if xs == sorted(xs)[::-1]
                                      else "unordered"))
            except TypeError:
                pass
        if isinstance(v, tuple) and not isinstance(v, list):
            for i, x in enumerate(xs):
                _classes(x, f"{path}.{i}", out)
        else:
            for x in xs[:50]:
                _classes(x, f"{path}[]", out)
    elif isinstance(v, dict):
        out.add(f"{path}:" + ("empty" if not v else "one" if len(v) == 1 else "many"))
        for a, b in list(v.items())[:50]:
            _classes(a, f"{path}.k", out)
            _classes(b, f"{path}.v", out)


def input_classes(args: tuple[Any, ...], outcome: TestCase) -> set[str]:
    out: set[str] = set()
    for i, a in enumerate(args):
        _classes(a, f"arg{i}", out)
    if outcome.raises:
        out.add(f"ret:raises {outcome.raises}")
    else:
        _classes(outcome.expected, "ret", out)
    return out


# ------------------------------------------------------------------ type-aware mutation
class _Mutator:
    def __init__(self, stats: dict[tuple[Any, ...], _Stats], rng: random.Random) -> None:
        self.stats, self.rng = stats, rng

    def _st(self, path: tuple[Any, ...]) -> _Stats:
        return self.stats.get(path) or _Stats()

    def fresh(self, t: TypeLike, path: tuple[Any, ...]) -> Any:
        """A value at `path`: a seed's when there is one, else a small one of the type."""
        s = self._st(path)
        vals = [v for v in s.values if v is not None]
        if vals and self.rng.random() < 0.7:
            return self.rng.choice(vals)
        k = t.kind
        if k == "int":
            lo, hi = _int_range(s)
            return self.rng.randint(max(lo, -20), min(hi, 20)) if lo <= 20 and hi >= -20 else lo
        if k == "float":
            lo, hi = _float_range(s)
            return round(self.rng.uniform(lo, hi), 3)
        if k == "bool":
            return self.rng.random() < 0.5
        if k == "str":
            a = _alphabet(s)
            return "".join(self.rng.choice(a) for _ in range(self.rng.randint(0, 5)))
        if k == "none":
            return None
        if k == "option":
            return None if s.saw_none and self.rng.random() < 0.3 else self.fresh(t.args[0], (*path, "some"))
        if k == "tuple":
            return tuple(self.fresh(tt, (*path, i)) for i, tt in enumerate(t.args))
        if k in ("list", "set"):
            lo, hi = _size_range(s)
            xs = [self.fresh(t.args[0], (*path, "e")) for _ in range(self.rng.randint(lo, min(hi, 5)))]
            return xs if k == "list" else set(xs)
        if k == "dict":
            return {self.fresh(t.args[0], (*path, "k")): self.fresh(t.args[1], (*path, "v"))
                    for _ in range(self.rng.randint(0, 3))}
        return None

    def mutate(self, v: Any, t: TypeLike, path: tuple[Any, ...]) -> Any:
        r, s, k = self.rng, self._st(path), t.kind
        if k == "option":
            if v is None:
                return self.fresh(t.args[0], (*path, "some"))
            if s.saw_none and r.random() < 0.2:
                return None
            return self.mutate(v, t.args[0], (*path, "some"))
        if k == "int":
            lo, hi = _int_range(s)
            pool = s.ints or [0]
            c = r.choice([v + 1, v - 1, -v, 0, 1, v * 2, v // 2, r.choice(pool), r.randint(lo, hi)])
            return min(max(c, lo), hi)
        if k == "float":
            lo, hi = _float_range(s)
            c = r.choice([v + 1.0, v - 1.0, -v, 0.0, v * 2, v / 2, v + 0.5, r.uniform(lo, hi),
                          r.choice(s.floats or [0.0])])
            return round(min(max(c, lo), hi), 3)
        if k == "bool":
            return not v
        if k == "str":
            return self._mutate_str(v, s)
        if k == "tuple":
            if not t.args:
                return v
            i = r.randrange(len(t.args))
            out = list(v)
            out[i] = self.mutate(out[i], t.args[i], (*path, i))
            return tuple(out)
        if k in ("list", "set"):
            xs = list(v) if k == "list" else sorted(v, key=repr)
            xs = self._mutate_seq(xs, t.args[0], (*path, "e"), s)
            return xs if k == "list" else set(xs)
        if k == "dict":
            d = dict(v)
            lo, hi = _size_range(s)
            op = r.randrange(3)
            if op == 0 and len(d) > lo:
                d.pop(r.choice(sorted(d, key=repr)))
            elif op == 1 and len(d) < hi:
                key = self.mutate(r.choice(list(d)), t.args[0], (*path, "k")) if d else \
                    self.fresh(t.args[0], (*path, "k"))
                d[key] = self.fresh(t.args[1], (*path, "v"))
            elif d:
                key = r.choice(sorted(d, key=repr))
                d[key] = self.mutate(d[key], t.args[1], (*path, "v"))
            return d
        return v

    def _mutate_str(self, v: str, s: _Stats) -> str:
        r = self.rng
        alpha = _alphabet(s)
        hi = max(8, max((len(x) for x in s.strs), default=4) * 2 + 4)
        ops = ["insert", "replace_seed"]
        if v:
            ops += ["delete", "repeat", "swap", "change"]
        op = r.choice(ops)
        if op == "insert" and len(v) < hi:
            i = r.randint(0, len(v))
            return v[:i] + r.choice(alpha) + v[i:]
        if op == "delete":
            i = r.randrange(len(v))
            j = min(len(v), i + r.randint(1, 3))
            return v[:i] + v[j:]
        if op == "repeat":
            i = r.randrange(len(v))
            j = min(len(v), i + r.randint(1, 4))
            out = v[:j] + v[i:j] + v[j:]
            return out if len(out) <= hi else v
        if op == "swap" and len(v) >= 2:
            i = r.randrange(len(v) - 1)
            return v[:i] + v[i + 1] + v[i] + v[i + 2:]
        if op == "change":
            i = r.randrange(len(v))
            return v[:i] + r.choice(alpha) + v[i + 1:]
        return r.choice(s.strs) if s.strs else v

    def _mutate_seq(self, xs: list[Any], et: TypeLike, epath: tuple[Any, ...], s: _Stats) -> list[Any]:
        r = self.rng
        lo, hi = _size_range(s)
        ops = ["insert"] if len(xs) < hi else []
        if xs:
            ops += ["mutate", "mutate", "swap", "duplicate", "reverse"]
            if len(xs) > lo:
                ops.append("delete")
        if not ops:
            return xs
        op = r.choice(ops)
        xs = list(xs)
        if op == "insert":
            new = self.mutate(r.choice(xs), et, epath) if xs and r.random() < 0.5 else self.fresh(et, epath)
            xs.insert(r.randint(0, len(xs)), new)
        elif op == "delete":
            xs.pop(r.randrange(len(xs)))
        elif op == "mutate":
            i = r.randrange(len(xs))
            xs[i] = self.mutate(xs[i], et, epath)
        elif op == "swap" and len(xs) >= 2:
            i, j = r.sample(range(len(xs)), 2)
            xs[i], xs[j] = xs[j], xs[i]
        elif op == "duplicate" and len(xs) < hi:
            i = r.randrange(len(xs))
            xs.insert(i, xs[i])
        elif op == "reverse":
            xs.reverse()
        return xs


# ------------------------------------------------------------------ hypothesis strategies
def _strategy(t: TypeLike, path: tuple[Any, ...], stats: dict[tuple[Any, ...], _Stats]) -> Any:
    from hypothesis import strategies as st

    s = stats.get(path) or _Stats()
    k = t.kind
    if k == "int":
        lo, hi = _int_range(s)
        return st.integers(lo, hi)
    if k == "float":
        lo, hi = _float_range(s)
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3))
    if k == "bool":
        return st.booleans()
    if k == "str":
        hi = max(8, max((len(x) for x in s.strs), default=4) * 2 + 4)
        return st.text(alphabet=_alphabet(s), max_size=hi)
    if k == "none":
        return st.none()
    if k == "option":
        inner = _strategy(t.args[0], (*path, "some"), stats)
        return st.one_of(st.none(), inner) if s.saw_none else inner
    if k == "tuple":
        return st.tuples(*[_strategy(tt, (*path, i), stats) for i, tt in enumerate(t.args)])
    lo, hi = _size_range(s)
    if k == "list":
        return st.lists(_strategy(t.args[0], (*path, "e"), stats), min_size=lo, max_size=hi)
    if k == "set":
        return st.sets(_strategy(t.args[0], (*path, "e"), stats), min_size=lo, max_size=hi)
    if k == "dict":
        return st.dictionaries(_strategy(t.args[0], (*path, "k"), stats), _strategy(t.args[1], (*path, "v"), stats),
                               min_size=lo, max_size=hi)
    return st.nothing()


def _hypothesis_inputs(sig: SignatureInfo, stats: dict[tuple[Any, ...], _Stats], n: int) -> list[tuple[Any, ...]]:
    """n argument tuples drawn by hypothesis (derandomized: the same every time)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    if n <= 0 or not sig.params:
        return []
    out: list[tuple[Any, ...]] = []
    strat = st.tuples(*[_strategy(t, (i,), stats) for i, (_, t, _, _) in enumerate(sig.params)])

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strat)
    def draw(args: tuple[Any, ...]) -> None:
        out.append(args)

    draw()
    return out


# ------------------------------------------------------------------ running the Python in the sandbox
_RUNNER = r'''
import ast, hashlib, io, json, signal, sys

class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

FILE = "<plus-example>"

def _enc(value):
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value
    except Exception:
        ok = False
    if not ok:
        return {"not_literal": type(value).__name__}
    if len(text) > 20000:
        return {"hash": hashlib.sha256(text.encode()).hexdigest()}
    return {"value": text}

def _call(fn, src, timeout):
    args = ast.literal_eval(src)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        value = fn(*args)
    except _Timeout:
        return {"timeout": 1}
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            return {"raises": type(e).__name__, "mro": [type(e).__name__]}
        return {"raises": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return _enc(value)

def _load(src, entry, timeout):
    ns = {"__name__": "corpus_example"}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        exec(compile(src, FILE, "exec"), ns)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return ns[entry]

def main():
    job = json.loads(sys.stdin.read())
    real_out = sys.stdout
    sys.stdout = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    t_call, t_mut, budget = job["call_timeout"], job["mutant_timeout"], job["mutant_budget"]
    res = {"orig": [], "again": [], "arcs": [], "mutants": []}
    try:
        fn = _load(job["python"], job["entry_point"], 5.0)
    except BaseException as e:
        real_out.write(json.dumps({"error": type(e).__name__ + ": " + str(e)[:200]}))
        return
    for src in job["inputs"]:
        arcs = set()
        last = {}

        def local(frame, event, arg):
            if event == "line":
                k = id(frame)
                arcs.add((last.get(k, -frame.f_code.co_firstlineno), frame.f_lineno))
                last[k] = frame.f_lineno
            elif event == "return":
                arcs.add((last.pop(id(frame), 0), -frame.f_code.co_firstlineno))
            return local

        def glob(frame, event, arg):
            return local if frame.f_code.co_filename == FILE else None

        sys.settrace(glob)
        try:
            out = _call(fn, src, t_call)
        finally:
            sys.settrace(None)
        res["orig"].append(out)
        res["arcs"].append(sorted("%d>%d" % a for a in arcs))
        sys.stdout = io.StringIO()
    for src in job["inputs"]:
        res["again"].append(_call(fn, src, t_call) if "value" in res["orig"][len(res["again"])] or
                            "raises" in res["orig"][len(res["again"])] else None)
        sys.stdout = io.StringIO()
    import time
    for msrc in job["mutants"]:
        row = []
        try:
            mfn = _load(msrc, job["entry_point"], 2.0)
        except BaseException as e:
            res["mutants"].append({"error": type(e).__name__})
            continue
        t0 = time.monotonic()
        timeouts = 0
        for i, src in enumerate(job["inputs"]):
            o = res["orig"][i]
            if not ("value" in o or "hash" in o or "raises" in o) or timeouts >= 2 or time.monotonic() - t0 > budget:
                row.append(None)
                continue
            r = _call(mfn, src, t_mut)
            timeouts += "timeout" in r
            row.append(r)
            sys.stdout = io.StringIO()
        res["mutants"].append(row)
    real_out.write(json.dumps(res))

main()
'''

def run_inputs(example: Example, inputs: Sequence[tuple[Any, ...]], mutant_sources: Sequence[str]
               ) -> dict[str, Any]:
    """Run the example's Python (and its mutants) on every input, in the sandbox."""
    job = {"python": example.python, "entry_point": example.entry_point,
           "inputs": [repr(tuple(a)) for a in inputs], "mutants": list(mutant_sources),
           "call_timeout": CALL_TIMEOUT_S, "mutant_timeout": MUTANT_CALL_TIMEOUT_S, "mutant_budget": MUTANT_BUDGET_S}
    wall = 30.0 + 2 * CALL_TIMEOUT_S * len(inputs) + (MUTANT_BUDGET_S + 2 * MUTANT_CALL_TIMEOUT_S + 2.5) \
        * len(mutant_sources)
    lim = SandboxLimits(wall_s=wall, memory_mb=1024, max_output_bytes=64 << 20)
    r = run_sandboxed([sandbox_python(), "-I", "-c", _RUNNER], stdin=json.dumps(job).encode(), limits=lim,
                      env={"PYTHONHASHSEED": "0"})
    if r.error or r.returncode != 0 or r.timed_out:
        why = r.error or ("timed out" if r.timed_out else r.stderr.decode("utf-8", "replace")[-300:])
        return {"error": f"the sandboxed run failed: {why}"}
    return dict(json.loads(r.stdout))


# ------------------------------------------------------------------ generation
def _decoded(o: dict[str, Any] | None) -> tuple[str, Any]:
    """A runner outcome as (class, payload) for comparisons: value / hash / raises / timeout / other."""
    if o is None:
        return "none", None
    if "value" in o:
        return "value", ast.literal_eval(o["value"])
    if "hash" in o:
        return "hash", o["hash"]
    if "raises" in o:
        return "raises", o["raises"]
    if "timeout" in o:
        return "timeout", None
    return "other", None


def _differs(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] != b[0]:
        return True
    if a[0] == "value":
        return not _same(a[1], b[1])
    return bool(a[1] != b[1])


def _canon(args: tuple[Any, ...]) -> str:
    return json.dumps(encode_value(tuple(args)), sort_keys=True)


def candidate_inputs(example: Example, sig: SignatureInfo, seed: int = 0, n_mutation: int = N_MUTATION,
                     n_hypothesis: int = N_HYPOTHESIS) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """Base inputs first (positional), then deduplicated generated ones; and how many came from where."""
    stats: dict[tuple[Any, ...], _Stats] = {}
    seeds: list[tuple[Any, ...]] = []
    for tc in example.tests:
        args: list[Any] = []
        for i, (name, _t, has_d, d) in enumerate(sig.params):
            args.append(tc.args[i] if i < len(tc.args) else tc.kwargs[name] if name in tc.kwargs else d)
            _ = has_d
        seeds.append(tuple(args))
        for i, (_n, t, _h, _d) in enumerate(sig.params):
            _collect(args[i], t, (i,), stats)
    rng = random.Random(f"{seed}:{example.id}")
    mut = _Mutator(stats, rng)
    seen = {_canon(s) for s in seeds}
    gen_m: list[tuple[Any, ...]] = []
    tries = 0
    while len(gen_m) < n_mutation and tries < n_mutation * 6 and sig.params:
        tries += 1
        cur = list(rng.choice(seeds + gen_m[-20:]) if gen_m and rng.random() < 0.4 else rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(sig.params))
            cur[i] = mut.mutate(cur[i], sig.params[i][1], (i,))
        key = _canon(tuple(cur))
        if key not in seen:
            seen.add(key)
            gen_m.append(tuple(cur))
    gen_h = []
    for a in _hypothesis_inputs(sig, stats, n_hypothesis):
        key = _canon(a)
        if key not in seen:
            seen.add(key)
            gen_h.append(a)
    return seeds + gen_m + gen_h, {"base": len(seeds), "mutation": len(gen_m), "hypothesis": len(gen_h)}


@dataclass
class _Job:
    """One example's generation: what is run in the sandbox, and what it returned."""

    example: Example
    sig: SignatureInfo
    inputs: list[tuple[Any, ...]]
    origin: dict[str, int]
    mutants: list[astmutants.PyMutant]
    result: dict[str, Any] | None = None


def _prepare(example: Example, sig: SignatureInfo, seed: int, max_mutants: int = MAX_MUTANTS) -> _Job:
    inputs, origin = candidate_inputs(example, sig, seed)
    return _Job(example, sig, inputs, origin, astmutants.mutants(example.python, within=example.entry_point,
                                                                 limit=max_mutants))


def _run(job: _Job) -> _Job:
    job.result = run_inputs(job.example, job.inputs, [m.source for m in job.mutants])
    return job


def generate_plus(example: Example, sig: SignatureInfo, accept: Callable[[TestCase], bool], seed: int = 0
                  ) -> tuple[PlusSet, list[list[str]]]:
    """The reduced plus set of one function example and, per kept case, why it was kept.

    `accept(case)` says whether a case fits the signature's types (the scorers' type model)."""
    return _finish(_run(_prepare(example, sig, seed)), accept, seed)


def _finish(job: _Job, accept: Callable[[TestCase], bool], seed: int) -> tuple[PlusSet, list[list[str]]]:
    """Validate, label and reduce (parsing happens here, in the caller's thread: ast is not thread-safe)."""
    example, sig, inputs, origin, ms = job.example, job.sig, job.inputs, job.origin, job.mutants
    res = job.result or {"error": "not run"}
    key = plus_key(example, seed)
    prov: dict[str, Any] = {"generator": GENERATOR_VERSION, "mutator": astmutants.MUTATOR_VERSION, "seed": seed,
                            "python": "{}.{}".format(*sys.version_info[:2]), "candidates": origin}
    if "error" in res:
        prov["error"] = res["error"]
        return PlusSet(example.id, key, (), prov), []
    n_base = origin["base"]
    base_raises = {t.raises for t in example.tests if t.raises}
    drops = {"timeout": 0, "raises": 0, "not_literal": 0, "nondeterministic": 0, "type": 0}
    valid: list[int] = []
    cases: dict[int, TestCase] = {}
    for i, (a, o, o2) in enumerate(zip(inputs, res["orig"], res["again"], strict=True)):
        if i < n_base:
            valid.append(i)
            continue
        if "timeout" in o:
            drops["timeout"] += 1
            continue
        if "not_literal" in o or "hash" in o:
            drops["not_literal"] += 1
            continue
        if o2 is None or _differs(_decoded(o), _decoded(o2)):
            drops["nondeterministic"] += 1
            continue
        if "raises" in o:
            if not (sig.fallible and o["raises"] not in DROP_ALWAYS and base_raises & set(o["mro"])):
                drops["raises"] += 1
                continue
            tc = TestCase(args=tuple(a), raises=next(x for x in o["mro"] if x in base_raises))
        else:
            tc = TestCase(args=tuple(a), expected=ast.literal_eval(o["value"]))
        if not accept(tc):
            drops["type"] += 1
            continue
        cases[i] = tc
        valid.append(i)
    # features of each valid input: mutants it kills, arcs it runs
    # and the path it takes (its whole set of arcs): base tests rarely walk every path a loop allows
    feats: dict[int, set[str]] = {i: {"a:" + x for x in res["arcs"][i]} for i in valid}
    # and the classes its arguments and result fall in (empty, negative, duplicates ...)
    for i in valid:
        feats[i].add("p:" + hashlib.sha256(" ".join(res["arcs"][i]).encode()).hexdigest()[:12])
        tc = cases.get(i) or example.tests[i]
        feats[i] |= {"c:" + c for c in input_classes(tuple(inputs[i]), tc)}
    live = [(m, row) for m, row in zip(ms, res["mutants"], strict=True) if isinstance(row, list)]
    orig = {i: _decoded(res["orig"][i]) for i in valid}
    for m, row in live:
        for i in valid:
            if row[i] is not None and _differs(orig[i], _decoded(row[i])):
                feats[i].add("m:" + m.id)
    full = set().union(*feats.values()) if feats else set()
    # requirement -> how many distinct inputs must meet it (arcs once, mutant kills up to K times)
    need = {f: (min(KILLS_PER_MUTANT, sum(f in feats[i] for i in valid)) if f.startswith("m:") else 1) for f in full}
    have = dict.fromkeys(full, 0)
    for i in valid:
        if i < n_base:
            for f in feats[i]:
                have[f] += 1
    chosen: list[int] = []
    whys: list[list[str]] = []
    pool = [i for i in valid if i >= n_base]

    def gain(i: int) -> list[str]:
        return [f for f in feats[i] if have[f] < need[f]]

    while pool and len(chosen) < MAX_PLUS:
        best = max(pool, key=lambda i: (len(gain(i)), -len(repr(inputs[i])), -i))
        new = gain(best)
        if not new:
            break
        chosen.append(best)
        whys.append(sorted({"m": "kills ", "a": "arc ", "p": "path ", "c": "class "}[f[0]] + f[2:] for f in new)[:8])
        for f in new:
            have[f] += 1
        pool.remove(best)
    kills = lambda fs: len({f for f in fs if f.startswith("m:")})  # noqa: E731
    arcs = lambda fs: len({f for f in fs if f.startswith("a:")})  # noqa: E731
    paths = lambda fs: len({f for f in fs if f.startswith("p:")})  # noqa: E731
    classes = lambda fs: len({f for f in fs if f.startswith("c:")})  # noqa: E731
    base_feats = set().union(*(feats[i] for i in valid if i < n_base)) if n_base else set()
    prov.update({"valid_plus": len(cases), "dropped": drops, "mutants": len(ms), "mutants_run": len(live),
                 "killed_base": kills(base_feats), "killed_full": kills(full), "arcs_base": arcs(base_feats),
                 "arcs_full": arcs(full), "paths_base": paths(base_feats), "paths_full": paths(full),
                 "paths_kept": paths(base_feats | set().union(*(feats[i] for i in chosen))),
                 "classes_base": classes(base_feats), "classes_full": classes(full), "kept": len(chosen),
                 "input_digest": hashlib.sha256("\n".join(_canon(a) for a in inputs).encode()).hexdigest()[:16]})
    return PlusSet(example.id, key, tuple(cases[i] for i in chosen), prov), whys


def ensure_plus(corpus_path: str | Path, examples: Sequence[Example],
                signature: Callable[[Example], SignatureInfo], accept: Callable[[Example], Callable[[TestCase], bool]],
                *, seed: int = 0, workers: int = 1, force: bool = False,
                progress: Callable[[str, PlusSet], None] | None = None) -> dict[str, PlusSet]:
    """Plus sets for every function example: read when fresh, else generated and stored."""
    fresh, stale = load_plus(corpus_path, examples, seed)
    todo = [e for e in examples if e.kind == "function" and (force or e.id in stale)]
    folder = plus_dir(corpus_path)

    jobs = [_prepare(e, signature(e), seed) for e in todo]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # only the sandboxed runs overlap
        for job in pool.map(_run, jobs):
            e = job.example
            ps, why = _finish(job, accept(e), seed)
            if "error" not in ps.provenance:
                save_plus(folder, ps, why)
            fresh[e.id] = ps
            if progress:
                progress(e.id, ps)
    return fresh


def summarize(plus: dict[str, PlusSet]) -> dict[str, Any]:
    """Corpus-level counts from the provenance (what `sse corpus plus` prints)."""
    ps = list(plus.values())
    tot = lambda k: sum(int(p.provenance.get(k, 0)) for p in ps)  # noqa: E731
    return {"examples": len(ps), "plus_tests": sum(len(p.tests) for p in ps),
            "with_plus": sum(1 for p in ps if p.tests), "errors": sum(1 for p in ps if "error" in p.provenance),
            "candidates": sum(sum(p.provenance.get("candidates", {}).values()) for p in ps),
            "valid_plus": tot("valid_plus"), "mutants": tot("mutants"), "killed_base": tot("killed_base"),
            "killed_full": tot("killed_full"), "arcs_base": tot("arcs_base"), "arcs_full": tot("arcs_full"),
            "mean_plus": (sum(len(p.tests) for p in ps) / len(ps)) if ps else math.nan}
