"""The one model of Python values the ground truth speaks: types, equality, float tolerance.

Every comparison of an expected value goes through `equal` (typed: the Rust result was decoded
into the declared type) or `same_value` (two Python values: compared under the narrowest type
both fit). docs/ground-truth.md states the rules; in short:

- int and bool are exact and never equal each other (Rust keeps i64 and bool apart);
- in a float place an int is its float (Python `-> float` code may return 1; Rust returns 1.0),
  floats agree within REL_TOL relative / ABS_TOL absolute, NaN equals NaN (the Python result
  *was* NaN), -0.0 equals 0.0, an infinity only itself;
- in an int place a float is never equal (the Rust side holds an i64: 1.0 is a type error);
- lists and tuples by position, dicts by key (keys exact, values recursively), sets by content
  (order never matters for dicts and sets); Optional: None only equals None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

REL_TOL = 1e-9
ABS_TOL = 1e-12
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class PyType:
    """A Python annotation reduced to the supported vocabulary.

    kind: int | float | bool | str | none | list | tuple | dict | set | option
    (and, while inferring, unknown | conflict)
    """

    kind: str
    args: tuple[PyType, ...] = ()

    def py(self) -> str:
        if not self.args:
            return self.kind if self.kind != "none" else "None"
        if self.kind == "option":
            return f"Optional[{self.args[0].py()}]"
        return f"{self.kind}[{', '.join(t.py() for t in self.args)}]"

    def hashable(self) -> bool:
        if self.kind == "float" or self.kind in ("dict", "set"):
            return False
        return all(t.hashable() for t in self.args)


INT, FLOAT, BOOL, STR, NONE = PyType("int"), PyType("float"), PyType("bool"), PyType("str"), PyType("none")
CONFLICT = PyType("conflict")
UNKNOWN = PyType("unknown")


# ------------------------------------------------------------------ inference from values
def infer_type(values: list[Any]) -> PyType | None:
    """The narrowest PyType covering all values; None when they do not determine one
    (only empty containers / only None) or are incompatible."""
    t: PyType | None = None
    saw_none = False
    for v in values:
        if v is None:
            saw_none = True
            continue
        vt = value_type(v)
        if vt is CONFLICT:
            return None
        t = vt if t is None else unify(t, vt)
        if t is CONFLICT:
            return None
    if t is None or not complete(t):
        return None
    return PyType("option", (t,)) if saw_none else t


def value_type(v: Any) -> PyType:
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, str):
        return STR
    if isinstance(v, list):
        return PyType("list", (_elems(v),))
    if isinstance(v, (set, frozenset)):
        return PyType("set", (_elems(list(v)),))
    if isinstance(v, tuple):
        return PyType("tuple", tuple(value_type(x) if x is not None else UNKNOWN for x in v)) if v else CONFLICT
    if isinstance(v, dict):
        return PyType("dict", (_elems(list(v.keys())), _elems(list(v.values()))))
    return CONFLICT


def _elems(vs: list[Any]) -> PyType:
    t: PyType = UNKNOWN
    saw_none = False
    for x in vs:
        if x is None:
            saw_none = True
            continue
        t = unify(t, value_type(x))
    if saw_none:
        return PyType("option", (t,)) if t.kind != "option" else t
    return t


def unify(a: PyType, b: PyType) -> PyType:
    """The least type both fit (int and float meet in float), or CONFLICT."""
    if a is CONFLICT or b is CONFLICT or CONFLICT in (a, b):
        return CONFLICT
    if a == UNKNOWN:
        return b
    if b == UNKNOWN:
        return a
    if a == b:
        return a
    if {a.kind, b.kind} == {"int", "float"}:
        return FLOAT
    if a.kind == "option" or b.kind == "option":
        ia = a.args[0] if a.kind == "option" else a
        ib = b.args[0] if b.kind == "option" else b
        u = unify(ia, ib)
        return CONFLICT if u == CONFLICT else PyType("option", (u,))
    if a.kind == b.kind and len(a.args) == len(b.args):
        args = tuple(unify(x, y) for x, y in zip(a.args, b.args, strict=True))
        return CONFLICT if CONFLICT in args else PyType(a.kind, args)
    return CONFLICT


def complete(t: PyType) -> bool:
    if t.kind in ("unknown", "conflict"):
        return False
    return all(complete(x) for x in t.args)


# ------------------------------------------------------------------ equality
def floats_close(a: float, b: float) -> bool:
    """The one float tolerance: NaN == NaN, -0.0 == 0.0, infinities only themselves."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def equal(actual: Any, expected: Any, t: PyType) -> bool:
    """Is `actual` (what the translation returned) the `expected` value, both of type `t`?"""
    k = t.kind
    if k == "option":
        if actual is None or expected is None:
            return actual is None and expected is None
        return equal(actual, expected, t.args[0])
    if k == "int":
        return _is_int(actual) and _is_int(expected) and actual == expected
    if k == "float":
        ok = all(isinstance(v, float) or _is_int(v) for v in (actual, expected))
        return ok and floats_close(float(actual), float(expected))
    if k == "bool":
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if k == "str":
        return isinstance(actual, str) and isinstance(expected, str) and actual == expected
    if k in ("none", "unknown"):
        return actual is None and expected is None
    if k in ("list", "tuple"):
        if not isinstance(actual, (list, tuple)) or not isinstance(expected, (list, tuple)):
            return False
        if len(actual) != len(expected):
            return False
        types = t.args if k == "tuple" else (t.args[0],) * len(actual)
        return len(types) == len(actual) and all(equal(a, e, u) for a, e, u in zip(actual, expected, types,
                                                                                 strict=True))
    if k == "set":
        if not isinstance(actual, (set, frozenset)) or not isinstance(expected, (set, frozenset)):
            return False
        return _hashable_equal(set(actual), set(expected), t.args[0])
    if k == "dict":
        if not isinstance(actual, dict) or not isinstance(expected, dict) or len(actual) != len(expected):
            return False
        return all(key in expected and equal(v, expected[key], t.args[1]) for key, v in actual.items()) and \
            all(_keys_typed(key, t.args[0]) for key in actual)
    return False


def _keys_typed(key: Any, t: PyType) -> bool:
    """Hashable key types are exact, so typed equality of a key with itself checks its type."""
    return equal(key, key, t)


def _hashable_equal(a: set[Any], b: set[Any], t: PyType) -> bool:
    return a == b and all(equal(x, x, t) for x in a)


def same_value(a: Any, b: Any) -> bool:
    """Two Python values (e.g. a stated and a computed expected value) are the same ground truth:
    equal under the narrowest type both fit; False when no type fits both."""
    if a is None or b is None:
        return a is None and b is None
    if a == () or b == ():
        return a == () and b == ()
    t = unify(value_type(a), value_type(b))
    if _has(t, "conflict"):
        return False
    return equal(a, b, t)  # places left unknown hold only None or nothing (empty containers)


def _has(t: PyType, kind: str) -> bool:
    return t.kind == kind or any(_has(x, kind) for x in t.args)


# ------------------------------------------------------------------ values from the harness
class WireError(ValueError):
    """A result that is not a well-formed value of the declared type."""


def from_wire(v: Any, t: PyType) -> Any:
    """The JSON the Rust harness printed for a value of type `t`, as the Python value.
    Option: null or [value]; tuple, list and set: arrays; dict: array of [key, value] pairs."""
    k = t.kind
    if k == "option":
        if v is None:
            return None
        if not isinstance(v, list) or len(v) != 1:
            raise WireError(f"not an Option: {v!r}"[:200])
        return from_wire(v[0], t.args[0])
    if k == "int":
        if not _is_int(v) or not I64_MIN <= v <= I64_MAX:
            raise WireError(f"not an i64: {v!r}"[:200])
        return v
    if k == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise WireError(f"not an f64: {v!r}"[:200])
        return float(v)
    if k == "bool":
        if not isinstance(v, bool):
            raise WireError(f"not a bool: {v!r}"[:200])
        return v
    if k == "str":
        if not isinstance(v, str):
            raise WireError(f"not a string: {v!r}"[:200])
        return v
    if k == "none":
        if v is not None:
            raise WireError(f"not (): {v!r}"[:200])
        return None
    if not isinstance(v, list):
        raise WireError(f"not an array: {v!r}"[:200])
    if k == "list":
        return [from_wire(x, t.args[0]) for x in v]
    if k == "tuple":
        if len(v) != len(t.args):
            raise WireError(f"not a {len(t.args)}-tuple: {v!r}"[:200])
        return tuple(from_wire(x, u) for x, u in zip(v, t.args, strict=True))
    if k == "set":
        out = {from_wire(x, t.args[0]) for x in v}
        if len(out) != len(v):
            raise WireError("a set with repeated elements")
        return out
    if k == "dict":
        d: dict[Any, Any] = {}
        for pair in v:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError(f"not a [key, value] pair: {pair!r}"[:200])
            key = from_wire(pair[0], t.args[0])
            if key in d:
                raise WireError("a map with repeated keys")
            d[key] = from_wire(pair[1], t.args[1])
        return d
    raise WireError(f"unsupported type {t.py()}")
