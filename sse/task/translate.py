"""Type-directed translation of a Python function's test *inputs* into a Rust harness.

The Python annotations (parsed with `ast`, never executed) fix the Rust types by the
table in docs/corpus-format.md (the type model is sse.core.values); the arguments become typed
Rust literals bound with `let x: T = ...` so that empty containers get their element type from
the annotation, not from inference. The harness only calls the candidate and hands back what it
returned: expected values stay in Python (`expectations`) and are compared there with
sse.core.values.equal. If any test raises, the function returns `Result<T, String>`: raising
cases must be `Err(_)`, the others `Ok(expected)`.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Any

from sse.core.errors import CorpusError
from sse.core.records import Example, TestCase
from sse.core.values import BOOL, FLOAT, I64_MAX, I64_MIN, INT, NONE, STR, PyType, infer_type

__all__ = ["BOOL", "FLOAT", "INT", "NONE", "STR", "PyType", "infer_type", "Expectation", "Signature",
           "parse_signature", "rust_signature", "rust_type", "rust_value", "generate_driver", "expectations",
           "test_names", "call_text"]
DRIVER_MODULE = "sse_drv"

RUST_KEYWORDS = frozenset(
    "as break const continue crate else enum extern false fn for if impl in let loop match mod move mut "
    "pub ref return self Self static struct super trait true type unsafe use where while async await dyn "
    "abstract become box do final macro override priv typeof unsized virtual yield try gen".split()
)


def rust_type(t: PyType, *, top_arg: bool = False, q: bool = False) -> str:
    """The Rust type of t; `top_arg` makes a bare str an argument `&str`; `q` writes every path
    fully qualified (the harness: nothing a candidate defines or imports can change it)."""
    k, a = t.kind, t.args
    if k in _PRIM:
        return _PRIM[k]
    if k == "str":
        return "&str" if top_arg else ("::std::string::String" if q else "String")
    if k == "list":
        return f"{'::std::vec::' if q else ''}Vec<{rust_type(a[0], q=q)}>"
    if k == "set":
        return f"{'::std::collections::' if q else ''}HashSet<{rust_type(a[0], q=q)}>"
    if k == "dict":
        return f"{'::std::collections::' if q else ''}HashMap<{rust_type(a[0], q=q)}, {rust_type(a[1], q=q)}>"
    if k == "option":
        return f"{'::core::option::' if q else ''}Option<{rust_type(a[0], q=q)}>"
    if k == "tuple":
        inner = ", ".join(rust_type(u, q=q) for u in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    raise AssertionError(k)


_PRIM = {"int": "i64", "float": "f64", "bool": "bool", "none": "()"}


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
        args = ", ".join(f"{rust_ident(p.name)}: {rust_type(p.type, top_arg=True)}" for p in self.params)
        ret = rust_type(self.ret)
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


def rust_value(v: Any, t: PyType, *, top_arg: bool = False, q: bool = True) -> str:
    """A Rust expression of type rust_type(t, top_arg) for the Python value v; with `q` (the
    harness) every path is fully qualified and no trait needs to be in scope."""
    k = t.kind
    opt = "::core::option::Option::" if q else ""
    if k == "option":
        return f"{opt}None" if v is None else f"{opt}Some({rust_value(v, t.args[0], q=q)})"
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
            return "::core::f64::NAN" if q else "f64::NAN"
        if math.isinf(f):
            c = "INFINITY" if f > 0 else "NEG_INFINITY"
            return f"::core::f64::{c}" if q else f"f64::{c}"
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
        if top_arg:
            return rust_str(v)
        return f"::std::string::String::from({rust_str(v)})" if q else f"String::from({rust_str(v)})"
    if k == "list":
        if not isinstance(v, (list, tuple)):  # a tuple value of a tuple[T, ...] annotation
            raise _ValueError(f"{v!r} is not a list")
        if not v:
            return f"{'::std::vec::' if q else ''}Vec::<{rust_type(t.args[0], q=q)}>::new()"
        return f"{'::std::' if q else ''}vec![" + ", ".join(rust_value(x, t.args[0], q=q) for x in v) + "]"
    if k == "set":
        if not isinstance(v, (set, frozenset)):
            raise _ValueError(f"{v!r} is not a set")
        if not v:
            return f"{'::std::collections::' if q else ''}HashSet::<{rust_type(t.args[0], q=q)}>::new()"
        items = "[" + ", ".join(sorted(rust_value(x, t.args[0], q=q) for x in v)) + "]"
        return f"::core::convert::From::from({items})" if q else f"HashSet::from({items})"
    if k == "dict":
        if not isinstance(v, dict):
            raise _ValueError(f"{v!r} is not a dict")
        if not v:
            kt, vt = rust_type(t.args[0], q=q), rust_type(t.args[1], q=q)
            return f"{'::std::collections::' if q else ''}HashMap::<{kt}, {vt}>::new()"
        items = "[" + ", ".join(f"({rust_value(a, t.args[0], q=q)}, {rust_value(b, t.args[1], q=q)})"
                                for a, b in v.items()) + "]"
        return f"::core::convert::From::from({items})" if q else f"HashMap::from({items})"
    if k == "tuple":
        if not isinstance(v, (tuple, list)) or len(v) != len(t.args):
            raise _ValueError(f"{v!r} is not a {len(t.args)}-tuple")
        inner = ", ".join(rust_value(x, tt, q=q) for x, tt in zip(v, t.args, strict=True))
        return f"({inner},)" if len(t.args) == 1 else f"({inner})"
    raise _ValueError(f"unsupported type {t.py()}")


# ------------------------------------------------------------------ the harness
@dataclass(frozen=True)
class Expectation:
    """What case `name` must produce: `expected` of type `ret`, or (when `raises`) an Err."""

    name: str
    call: str
    ret: PyType
    fallible: bool
    expected: Any = None
    raises: str | None = None

    def key_text(self) -> str:
        """A canonical text of the expectation (part of verdict keys)."""
        return json.dumps([self.name, self.ret.py(), self.fallible, self.raises, _canon(self.expected)])


def _canon(v: Any) -> Any:
    if isinstance(v, float):
        return {"f": repr(v)}
    if isinstance(v, (set, frozenset)):
        return {"set": sorted((_canon(x) for x in v), key=repr)}
    if isinstance(v, dict):
        return {"dict": sorted(([_canon(a), _canon(b)] for a, b in v.items()), key=repr)}
    if isinstance(v, (list, tuple)):
        return {type(v).__name__: [_canon(x) for x in v]}
    return v


def call_text(ex: Example, tc: TestCase) -> str:
    parts = [repr(a) for a in tc.args] + [f"{k}={v!r}" for k, v in tc.kwargs.items()]
    text = f"{ex.entry_point}({', '.join(parts)})"
    return text if len(text) <= 300 else text[:297] + "..."


def test_names(example: Example) -> list[str]:
    return [f"t{i}" for i in range(len(example.tests))]


def expectations(example: Example, sig: Signature | None = None) -> tuple[Expectation, ...]:
    """The expected outcome of every case: kept in Python, never written into the harness."""
    sig = sig or parse_signature(example)
    out = []
    for j, tc in enumerate(example.tests):
        if not tc.raises:
            try:
                rust_value(tc.expected, sig.ret)  # the value must fit the declared type
            except _ValueError as e:
                raise _err(example, f"test {j}: {e} (declared type {_types_text(sig)})", f"tests[{j}]",
                           "make the test values match the annotations") from None
        out.append(Expectation(f"t{j}", call_text(example, tc), sig.ret, sig.fallible,
                               None if tc.raises else tc.expected, tc.raises or None))
    return tuple(out)


def generate_driver(example: Example, sig: Signature | None = None) -> str:
    """The harness module of one candidate: for each case, build the arguments, call the
    candidate, hand what it returned to the runtime (`crate::sse_rt`), which prints it.

    It is a child module of the candidate's module (so a private `fn` is callable as `super::f`),
    holds no expected value, and writes every path fully qualified (`::std::...`, `::core::...`),
    so nothing the candidate defines, imports or shadows (`vec!`, `Option`, `i64`...) reaches it."""
    if example.kind != "function":
        raise _err(example, "only function examples have generated tests", "kind", "use build_program for programs")
    if not example.tests:
        raise _err(example, "no test cases", "tests", "add at least 3 tests")
    sig = sig or parse_signature(example)
    ret_rs = rust_type(sig.ret, q=True)
    fn = f"super::{rust_ident(sig.name)}"
    lines = ["#![allow(unused_imports, unused_parens, unused_mut, non_snake_case, clippy::all)]",
             "pub(crate) fn run(r: &mut crate::sse_rt::Runner) {"]
    for j, tc in enumerate(example.tests):
        body: list[str] = []
        try:
            for i, p in enumerate(sig.params):
                v = _arg_value(example, tc, i, p.name, p.default, p.has_default, j)
                body.append(f"let a{i}: {rust_type(p.type, top_arg=True, q=True)} = "
                            f"{rust_value(v, p.type, top_arg=True)};")
            unknown = set(tc.kwargs) - {p.name for p in sig.params}
            if unknown or len(tc.args) > len(sig.params):
                raise _ValueError(f"too many or unknown arguments {sorted(unknown) or len(tc.args)}")
        except _ValueError as e:
            raise _err(example, f"test {j}: {e} (declared type {_types_text(sig)})", f"tests[{j}]",
                       "make the test values match the annotations") from None
        call = f"{fn}({', '.join(f'a{i}' for i in range(len(sig.params)))})"
        if sig.fallible:
            body.append(f"let actual: ::core::result::Result<{ret_rs}, ::std::string::String> = {call};")
            body.append("crate::sse_rt::Out::from_result(actual)")
        else:
            body.append(f"let actual: {ret_rs} = {call};")
            body.append("crate::sse_rt::Out::value(&actual)")
        lines.append(f"    r.case({j}usize, move || {{")
        lines.extend("        " + b for b in body)
        lines.append("    });")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _types_text(sig: Signature) -> str:
    return f"({', '.join(p.type.py() for p in sig.params)}) -> {sig.ret.py()}"


def test_code(example: Example) -> str:
    """What judges a function example ('' for programs): its harness module (inputs and calls)
    and, after it, the expected outcomes that stay in Python."""
    if example.kind != "function":
        return ""
    return generate_driver(example) + "\n".join(e.key_text() for e in expectations(example))
