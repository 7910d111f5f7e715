"""Type-directed translation of a Python function's tests into Rust `#[test]`s.

The Python annotations (parsed with `ast`, never executed) fix the Rust types by the
table in docs/corpus-format.md; the test values become typed Rust literals bound with
`let x: T = ...` so that empty containers get their element type from the annotation,
not from inference. Comparison goes through the `Approx` trait of SUPPORT_RS:
floats with a relative tolerance (1e-9, abs 1e-12), HashMap/HashSet independent of
order, recursively through Vec/Option/tuples. If any test raises, the function returns
`Result<T, String>`: raising cases must be `Err(_)`, the others `Ok(expected)`.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

from sse.core.errors import CorpusError
from sse.core.records import Example, TestCase

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
TEST_MODULE = "sse_gt_tests"
SUPPORT_MODULE = "sse_support"

RUST_KEYWORDS = frozenset(
    "as break const continue crate else enum extern false fn for if impl in let loop match mod move mut "
    "pub ref return self Self static struct super trait true type unsafe use where while async await dyn "
    "abstract become box do final macro override priv typeof unsized virtual yield try gen".split()
)


@dataclass(frozen=True)
class PyType:
    """A Python annotation reduced to the supported vocabulary.

    kind: int | float | bool | str | none | list | tuple | dict | set | option
    """

    kind: str
    args: tuple[PyType, ...] = ()

    def rust(self, *, top_arg: bool = False) -> str:
        """The Rust type; `top_arg` makes a bare str an argument `&str`."""
        k, a = self.kind, self.args
        if k == "int":
            return "i64"
        if k == "float":
            return "f64"
        if k == "bool":
            return "bool"
        if k == "str":
            return "&str" if top_arg else "String"
        if k == "none":
            return "()"
        if k == "list":
            return f"Vec<{a[0].rust()}>"
        if k == "set":
            return f"HashSet<{a[0].rust()}>"
        if k == "dict":
            return f"HashMap<{a[0].rust()}, {a[1].rust()}>"
        if k == "option":
            return f"Option<{a[0].rust()}>"
        if k == "tuple":
            inner = ", ".join(t.rust() for t in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        raise AssertionError(k)

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


@dataclass(frozen=True)
class Param:
    name: str
    type: PyType
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True)
class Signature:
    """The entry point's typed signature, plus whether it returns a Result."""

    name: str
    params: tuple[Param, ...]
    ret: PyType
    fallible: bool

    def rust(self) -> str:
        args = ", ".join(f"{rust_ident(p.name)}: {p.type.rust(top_arg=True)}" for p in self.params)
        ret = self.ret.rust()
        if self.fallible:
            ret = f"Result<{ret}, String>"
        tail = "" if ret == "()" else f" -> {ret}"
        return f"pub fn {rust_ident(self.name)}({args}){tail}"


def rust_ident(name: str) -> str:
    if name in ("self", "Self", "super", "crate", "_"):
        return name + "_"
    return f"r#{name}" if name in RUST_KEYWORDS else name


# ------------------------------------------------------------------ annotations
_SIMPLE = {"int": INT, "float": FLOAT, "bool": BOOL, "str": STR, "None": NONE, "NoneType": NONE}
_GENERIC = {"list": "list", "List": "list", "tuple": "tuple", "Tuple": "tuple", "dict": "dict",
            "Dict": "dict", "set": "set", "Set": "set", "Optional": "option", "Union": "union"}


def _err(ex: Example, msg: str, field: str, fix: str) -> CorpusError:
    return CorpusError(msg, file=ex.source_path or ex.id, field=field, fix=fix)


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List, t.Optional
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def parse_annotation(node: ast.expr, ex: Example, where: str) -> PyType:
    """Python annotation AST -> PyType, or a CorpusError naming the annotation."""
    unsupported = _err(ex, f"unsupported annotation {ast.unparse(node)!r}", where,
                       "use int, float, bool, str, None, list[T], tuple[A, B], dict[K, V], set[T], "
                       "Optional[T] (docs/corpus-format.md)")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "list[int]" forward reference
        try:
            return parse_annotation(ast.parse(node.value, mode="eval").body, ex, where)
        except SyntaxError:
            raise unsupported from None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([parse_annotation(node.left, ex, where), parse_annotation(node.right, ex, where)],
                      unsupported)
    name = _name_of(node)
    if name is not None and name in _SIMPLE:
        return _SIMPLE[name]
    if isinstance(node, ast.Subscript):
        base = _name_of(node.value)
        kind = _GENERIC.get(base or "")
        if kind is None:
            raise unsupported
        sl = node.slice
        elts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if kind == "tuple" and any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in elts):
            # tuple[T, ...]: a variable-length homogeneous sequence, which Rust spells Vec<T>
            if len(elts) != 2 or not (isinstance(elts[1], ast.Constant) and elts[1].value is Ellipsis):
                raise unsupported
            return PyType("list", (parse_annotation(elts[0], ex, where),))
        args = tuple(parse_annotation(e, ex, where) for e in elts)
        if kind == "union":
            return _union(list(args), unsupported)
        if kind == "option":
            if len(args) != 1:
                raise unsupported
            return PyType("option", args) if args[0].kind != "option" else args[0]
        want = {"list": 1, "set": 1, "dict": 2}.get(kind)
        if (want is not None and len(args) != want) or not args:
            raise unsupported
        t = PyType(kind, args)
        if kind in ("set", "dict") and not args[0].hashable():
            raise _err(ex, f"{ast.unparse(node)!r}: a float/set/dict key is not hashable in Rust", where,
                       "use int, str, bool or tuples of them as keys")
        return t
    if name in ("list", "List", "dict", "Dict", "set", "Set", "tuple", "Tuple"):
        raise _err(ex, f"bare {name!r} annotation has no element type", where,
                   f"write {name.lower()}[...] with the element type(s)")
    raise unsupported


def _union(parts: list[PyType], unsupported: CorpusError) -> PyType:
    non_none = [p for p in parts if p.kind != "none"]
    if len(non_none) == 1 and len(parts) == 2:
        inner = non_none[0]
        return inner if inner.kind == "option" else PyType("option", (inner,))
    raise unsupported


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
        vt = _value_type(v)
        if vt is _CONFLICT:
            return None
        t = vt if t is None else _unify(t, vt)
        if t is _CONFLICT:
            return None
    if t is None:
        return None
    if not _complete(t):
        return None
    return PyType("option", (t,)) if saw_none else t


_CONFLICT = PyType("conflict")
_UNKNOWN = PyType("unknown")


def _value_type(v: Any) -> PyType:
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
        return PyType("tuple", tuple(_value_type(x) if x is not None else _UNKNOWN for x in v)) if v else _CONFLICT
    if isinstance(v, dict):
        return PyType("dict", (_elems(list(v.keys())), _elems(list(v.values()))))
    return _CONFLICT


def _elems(vs: list[Any]) -> PyType:
    t: PyType = _UNKNOWN
    saw_none = False
    for x in vs:
        if x is None:
            saw_none = True
            continue
        t = _unify(t, _value_type(x))
    if saw_none:
        return PyType("option", (t,)) if t.kind != "option" else t
    return t


def _unify(a: PyType, b: PyType) -> PyType:
    if a is _CONFLICT or b is _CONFLICT:
        return _CONFLICT
    if a == _UNKNOWN:
        return b
    if b == _UNKNOWN:
        return a
    if a == b:
        return a
    if {a.kind, b.kind} == {"int", "float"}:
        return FLOAT
    if a.kind == "option" or b.kind == "option":
        ia = a.args[0] if a.kind == "option" else a
        ib = b.args[0] if b.kind == "option" else b
        u = _unify(ia, ib)
        return _CONFLICT if u is _CONFLICT else PyType("option", (u,))
    if a.kind == b.kind and len(a.args) == len(b.args):
        args = tuple(_unify(x, y) for x, y in zip(a.args, b.args, strict=True))
        return _CONFLICT if _CONFLICT in args else PyType(a.kind, args)
    return _CONFLICT


def _complete(t: PyType) -> bool:
    if t == _UNKNOWN or t is _CONFLICT or t.kind in ("unknown", "conflict"):
        return False
    return all(_complete(x) for x in t.args)


# ------------------------------------------------------------------ signature
def _find_function(ex: Example) -> ast.FunctionDef:
    try:
        tree = ast.parse(ex.python)
    except SyntaxError as e:
        raise _err(ex, f"Python does not parse: {e.msg} (line {e.lineno})", "python", "fix the Python source") from None
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == ex.entry_point]
    if not found:
        found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == ex.entry_point]
    if not found:
        raise _err(ex, f"no function named {ex.entry_point!r} in the Python", "entry_point",
                   "set entry_point to the function the tests call")
    return found[-1]


def parse_signature(ex: Example) -> Signature:
    """The typed signature of the entry point: annotations first, test values where they are missing."""
    fn = _find_function(ex)
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs:
        raise _err(ex, f"{ex.entry_point}: *args/**kwargs/keyword-only parameters have no Rust equivalent",
                   "python", "use plain positional parameters")
    pos = list(a.posonlyargs) + list(a.args)
    defaults: list[ast.expr | None] = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    tests = list(ex.tests)
    params: list[Param] = []
    for i, (arg, dnode) in enumerate(zip(pos, defaults, strict=True)):
        where = f"python: parameter {arg.arg!r}"
        dval, has_d = None, dnode is not None
        if dnode is not None:
            try:
                dval = ast.literal_eval(dnode)
            except ValueError:
                raise _err(ex, f"default of {arg.arg!r} is not a literal", where, "use a literal default") from None
        if arg.annotation is not None:
            t = parse_annotation(arg.annotation, ex, where)
        else:
            vals = [_arg_value(ex, tc, i, arg.arg, dval, has_d, j) for j, tc in enumerate(tests)]
            inferred = infer_type(vals)
            if inferred is None:
                raise _err(ex, f"parameter {arg.arg!r} has no annotation and the test values do not determine "
                           "its type", where, f"annotate it, e.g. def {ex.entry_point}({arg.arg}: list[int])")
            t = inferred
        params.append(Param(arg.arg, t, dval, has_d))
    fallible = any(tc.raises for tc in tests)
    if fn.returns is not None:
        ret = parse_annotation(fn.returns, ex, "python: return annotation")
    else:
        vals = [tc.expected for tc in tests if not tc.raises]
        inferred = infer_type(vals) if vals else None
        if inferred is None and vals and all(v is None for v in vals):
            inferred = NONE
        if inferred is None:
            raise _err(ex, "the return has no annotation and the expected values do not determine its type",
                       "python: return annotation", f"annotate it, e.g. def {ex.entry_point}(...) -> int")
        ret = inferred
    return Signature(ex.entry_point, tuple(params), ret, fallible)


def _arg_value(ex: Example, tc: TestCase, i: int, name: str, default: Any, has_default: bool, j: int) -> Any:
    if i < len(tc.args):
        return tc.args[i]
    if name in tc.kwargs:
        return tc.kwargs[name]
    if has_default:
        return default
    raise _err(ex, f"test {j} does not give argument {name!r}", f"tests[{j}].args", "give every argument")


def rust_signature(example: Example) -> str:
    """The Rust signature shown to models as {rust_signature}."""
    if example.kind != "function":
        return ""
    return parse_signature(example).rust()


# ------------------------------------------------------------------ values -> Rust literals
class _ValueError(Exception):
    pass


def rust_str(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if 0xD800 <= o <= 0xDFFF:
            raise _ValueError("lone surrogate in a string")
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\u{{{o:x}}}")
    out.append('"')
    return "".join(out)


def rust_value(v: Any, t: PyType, *, top_arg: bool = False) -> str:
    """A Rust expression of type t.rust(top_arg) for the Python value v."""
    k = t.kind
    if k == "option":
        return "None" if v is None else f"Some({rust_value(v, t.args[0])})"
    if v is None and k != "none":
        raise _ValueError(f"None where {t.py()} is expected")
    if k == "none":
        if v is not None:
            raise _ValueError(f"{v!r} where None is expected")
        return "()"
    if k == "bool":
        if not isinstance(v, bool):
            raise _ValueError(f"{v!r} is not a bool")
        return "true" if v else "false"
    if k == "int":
        if isinstance(v, float) or not isinstance(v, int):
            raise _ValueError(f"{v!r} is not an int")
        v = int(v)
        if not I64_MIN <= v <= I64_MAX:
            raise _ValueError(f"{v} does not fit in i64")
        return f"{v}i64" if v >= 0 else f"({v}i64)"
    if k == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _ValueError(f"{v!r} is not a float")
        f = float(v)
        if math.isnan(f):
            return "f64::NAN"
        if math.isinf(f):
            return "f64::INFINITY" if f > 0 else "f64::NEG_INFINITY"
        r = repr(f)
        if "e" in r or "E" in r:
            mant, exp = r.lower().split("e")
            if "." not in mant:
                mant += ".0"
            r = f"{mant}e{exp}"
        return f"{r}f64" if f >= 0 and not r.startswith("-") else f"({r}f64)"
    if k == "str":
        if not isinstance(v, str):
            raise _ValueError(f"{v!r} is not a str")
        return rust_str(v) if top_arg else f"String::from({rust_str(v)})"
    if k == "list":
        if not isinstance(v, (list, tuple)):  # a tuple value of a tuple[T, ...] annotation
            raise _ValueError(f"{v!r} is not a list")
        if not v:
            return f"Vec::<{t.args[0].rust()}>::new()"
        return "vec![" + ", ".join(rust_value(x, t.args[0]) for x in v) + "]"
    if k == "set":
        if not isinstance(v, (set, frozenset)):
            raise _ValueError(f"{v!r} is not a set")
        if not v:
            return f"HashSet::<{t.args[0].rust()}>::new()"
        items = sorted(rust_value(x, t.args[0]) for x in v)
        return "HashSet::from([" + ", ".join(items) + "])"
    if k == "dict":
        if not isinstance(v, dict):
            raise _ValueError(f"{v!r} is not a dict")
        if not v:
            return f"HashMap::<{t.args[0].rust()}, {t.args[1].rust()}>::new()"
        items = [f"({rust_value(a, t.args[0])}, {rust_value(b, t.args[1])})" for a, b in v.items()]
        return "HashMap::from([" + ", ".join(items) + "])"
    if k == "tuple":
        if not isinstance(v, (tuple, list)) or len(v) != len(t.args):
            raise _ValueError(f"{v!r} is not a {len(t.args)}-tuple")
        inner = ", ".join(rust_value(x, tt) for x, tt in zip(v, t.args, strict=True))
        return f"({inner},)" if len(t.args) == 1 else f"({inner})"
    raise _ValueError(f"unsupported type {t.py()}")


# ------------------------------------------------------------------ the test module
SUPPORT_RS = r"""
#[allow(dead_code)]
pub mod sse_support {
    use std::collections::{HashMap, HashSet};
    use std::hash::Hash;

    /// Equality for ground truth: floats within a relative tolerance, maps and sets by content.
    pub trait Approx {
        fn approx(&self, other: &Self) -> bool;
    }
    impl Approx for f64 {
        fn approx(&self, o: &f64) -> bool {
            let (a, b) = (*self, *o);
            if a.is_nan() || b.is_nan() {
                return a.is_nan() && b.is_nan();
            }
            if a == b {
                return true;
            }
            (a - b).abs() <= f64::max(1e-9 * f64::max(a.abs(), b.abs()), 1e-12)
        }
    }
    macro_rules! exact { ($($t:ty),*) => { $(impl Approx for $t { fn approx(&self, o: &$t) -> bool { self == o } })* } }
    exact!(i64, bool, String, ());
    impl<T: Approx> Approx for Vec<T> {
        fn approx(&self, o: &Vec<T>) -> bool {
            self.len() == o.len() && self.iter().zip(o.iter()).all(|(a, b)| a.approx(b))
        }
    }
    impl<T: Approx> Approx for Option<T> {
        fn approx(&self, o: &Option<T>) -> bool {
            match (self, o) {
                (Some(a), Some(b)) => a.approx(b),
                (None, None) => true,
                _ => false,
            }
        }
    }
    impl<K: Eq + Hash, V: Approx> Approx for HashMap<K, V> {
        fn approx(&self, o: &HashMap<K, V>) -> bool {
            self.len() == o.len() && self.iter().all(|(k, v)| o.get(k).map_or(false, |w| v.approx(w)))
        }
    }
    impl<T: Eq + Hash> Approx for HashSet<T> {
        fn approx(&self, o: &HashSet<T>) -> bool {
            self == o
        }
    }
    macro_rules! tuple_approx {
        ($($n:tt $t:ident),+) => {
            impl<$($t: Approx),+> Approx for ($($t,)+) {
                fn approx(&self, o: &Self) -> bool { true $(&& self.$n.approx(&o.$n))+ }
            }
        };
    }
    tuple_approx!(0 A);
    tuple_approx!(0 A, 1 B);
    tuple_approx!(0 A, 1 B, 2 C);
    tuple_approx!(0 A, 1 B, 2 C, 3 D);
    tuple_approx!(0 A, 1 B, 2 C, 3 D, 4 E);
    tuple_approx!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
    tuple_approx!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
    tuple_approx!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

    pub fn check<T: Approx + std::fmt::Debug>(actual: &T, expected: &T, call: &str) {
        if !actual.approx(expected) {
            panic!("{} returned {:?}, expected {:?}", call, actual, expected);
        }
    }
}
"""


def _call_text(ex: Example, tc: TestCase) -> str:
    parts = [repr(a) for a in tc.args] + [f"{k}={v!r}" for k, v in tc.kwargs.items()]
    text = f"{ex.entry_point}({', '.join(parts)})"
    return text if len(text) <= 300 else text[:297] + "..."


def test_names(example: Example) -> list[str]:
    return [f"t{i}" for i in range(len(example.tests))]


def generate_tests(example: Example, sig: Signature | None = None) -> str:
    """The `#[cfg(test)] mod sse_gt_tests` appended to a candidate: one #[test] per TestCase.

    It refers to the candidate as `super::` and to the comparison helpers as
    `crate::sse_support`, so the same text works in a crate of one or of many modules."""
    if example.kind != "function":
        raise _err(example, "only function examples have generated tests", "kind", "use build_program for programs")
    if not example.tests:
        raise _err(example, "no test cases", "tests", "add at least 3 tests")
    sig = sig or parse_signature(example)
    ret_rs = sig.ret.rust()
    lines = [
        "#[cfg(test)]",
        "#[allow(unused_imports, unused_parens, clippy::all)]",
        f"mod {TEST_MODULE} {{",
        "    use std::collections::{HashMap, HashSet};",
        "    use crate::sse_support::check;",
    ]
    fn = f"super::{rust_ident(sig.name)}"
    for j, tc in enumerate(example.tests):
        body: list[str] = []
        try:
            for i, p in enumerate(sig.params):
                v = _arg_value(example, tc, i, p.name, p.default, p.has_default, j)
                body.append(f"let a{i}: {p.type.rust(top_arg=True)} = {rust_value(v, p.type, top_arg=True)};")
            unknown = set(tc.kwargs) - {p.name for p in sig.params}
            if unknown or len(tc.args) > len(sig.params):
                raise _ValueError(f"too many or unknown arguments {sorted(unknown) or len(tc.args)}")
            call = f"{fn}({', '.join(f'a{i}' for i in range(len(sig.params)))})"
            desc = rust_str(_call_text(example, tc))
            if sig.fallible:
                body.append(f"let actual: Result<{ret_rs}, String> = {call};")
                if tc.raises:
                    body.append(f'if let Ok(v) = &actual {{ panic!("{{}} returned Ok({{:?}}), expected Err(_) '
                                f'(Python raises {tc.raises})", {desc}, v); }}')
                else:
                    body.append(f"let expected: {ret_rs} = {rust_value(tc.expected, sig.ret)};")
                    body.append("match &actual {")
                    body.append(f"    Ok(v) => check(v, &expected, {desc}),")
                    body.append(f'    Err(e) => panic!("{{}} returned Err({{:?}}), expected Ok({{:?}})", {desc}, e, expected),')
                    body.append("}")
            else:
                body.append(f"let expected: {ret_rs} = {rust_value(tc.expected, sig.ret)};")
                body.append(f"let actual: {ret_rs} = {call};")
                body.append(f"check(&actual, &expected, {desc});")
        except _ValueError as e:
            raise _err(example, f"test {j}: {e} (declared type {_types_text(sig)})", f"tests[{j}]",
                       "make the test values match the annotations") from None
        lines.append("    #[test]")
        lines.append(f"    fn t{j}() {{")
        lines.extend("        " + b for b in body)
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _types_text(sig: Signature) -> str:
    return f"({', '.join(p.type.py() for p in sig.params)}) -> {sig.ret.py()}"
