"""Py2Rs 10-level classification of Python source, from its AST.

Why the AST: a keyword inside a comment, a docstring or a string literal must not
change the level, so nothing here looks at raw text. The level is the highest
level any feature of the code reaches; `reasons` lists the features found so a
reader can see why (`sse benchmark --verbose`).

Feature -> level (the rules, also in docs/corpus-format.md):
 1 Hello          every function (string building: literals, f-strings, `str + str`)
 2 Variables      assignments, arithmetic, comparisons, boolean logic, int/float/bool types
 3 Functions      `if` statements, several or nested functions, recursion, lambdas,
                  default / keyword-only / variadic parameters
 4 Collections    list/dict/set/tuple displays and comprehensions, container or
                  Optional annotations, `for` loops (iteration)
 5 ControlFlow    while, break, continue, match, nested loops, return from inside a
                  loop, generators (yield)
 6 ErrorHandling  try/except, raise, assert, with
 7 OopTraits      class definitions
 8 Concurrency    async/await, threading, multiprocessing, asyncio, concurrent.futures
 9 FfiUnsafe      ctypes, cffi, mmap, `global` mutable state (static mut in Rust)
10 Metaprogramming decorators beyond the structural ones, eval/exec/getattr/setattr...,
                  metaclasses, dynamic attribute hooks, importlib/inspect
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

LEVEL_NAMES: tuple[str, ...] = (
    "Hello", "Variables", "Functions", "Collections", "ControlFlow",
    "ErrorHandling", "OopTraits", "Concurrency", "FfiUnsafe", "Metaprogramming",
)
DIFFICULTIES: tuple[str, ...] = (
    "Trivial", "Trivial", "Easy", "Easy", "Medium", "Medium", "Hard", "Hard", "Expert", "Expert",
)
WEIGHTS: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0)

_CONTAINER_NAMES = {
    "list", "dict", "set", "frozenset", "tuple", "List", "Dict", "Set", "FrozenSet", "Tuple",
    "Optional", "Sequence", "Mapping", "Iterable", "Iterator", "Union", "Deque", "deque",
    "DefaultDict", "defaultdict", "Counter", "OrderedDict",
}
_SCALAR_NAMES = {"int", "float", "bool", "complex"}
_CONCURRENCY_MODULES = {"threading", "multiprocessing", "asyncio", "concurrent", "_thread", "queue"}
_FFI_MODULES = {"ctypes", "cffi", "mmap", "_ctypes"}
_META_MODULES = {"importlib", "inspect"}
_META_CALLS = {"eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr",
               "globals", "locals", "vars", "__import__"}
_STRUCTURAL_DECORATORS = {"staticmethod", "classmethod", "property", "dataclass", "abstractmethod",
                          "setter", "getter", "deleter", "total_ordering"}
_META_DUNDERS = {"__getattr__", "__getattribute__", "__setattr__", "__delattr__",
                 "__init_subclass__", "__class_getitem__", "__new__", "__set_name__", "__get__"}


@dataclass(frozen=True)
class Classification:
    level: int
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return level_name(self.level)

    @property
    def difficulty(self) -> str:
        return level_difficulty(self.level)

    @property
    def weight(self) -> float:
        return level_weight(self.level)


def _check(level: int) -> int:
    if not 1 <= level <= 10:
        raise ValueError(f"Py2Rs level must be 1-10, got {level}")
    return level


def level_name(level: int) -> str:
    return LEVEL_NAMES[_check(level) - 1]


def level_difficulty(level: int) -> str:
    return DIFFICULTIES[_check(level) - 1]


def level_weight(level: int) -> float:
    return WEIGHTS[_check(level) - 1]


def dots(levels: set[int] | frozenset[int]) -> str:
    """The 10-dot summary: a filled dot for each level the corpus covers."""
    return "".join("●" if i in levels else "○" for i in range(1, 11))


def _names_in(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and n.value is None:
            out.add("None")
    return out


def _is_strish(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return ""


def _is_loop(n: ast.AST) -> bool:
    return isinstance(n, (ast.For, ast.While, ast.AsyncFor))


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: dict[str, int] = {}
        self.loop_depth = 0
        self.func_stack: list[str] = []
        self.defined: set[str] = set()
        self.calls: set[str] = set()
        self.n_funcs = 0

    def add(self, reason: str, level: int) -> None:
        self.found.setdefault(reason, level)

    # ---------------------------------------------------------------- functions
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.n_funcs += 1
        self.defined.add(node.name)
        if self.func_stack and not isinstance(self._parent_kind, ast.ClassDef):
            self.add("nested function", 3)
        a = node.args
        if a.defaults or a.kw_defaults and any(d is not None for d in a.kw_defaults):
            self.add("default arguments", 3)
        if a.vararg or a.kwarg:
            self.add("variadic parameters", 3)
        if a.kwonlyargs:
            self.add("keyword-only parameters", 3)
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
            self._annotation(arg.annotation)
        self._annotation(node.returns)
        for d in node.decorator_list:
            name = _decorator_name(d)
            if name not in _STRUCTURAL_DECORATORS:
                self.add(f"decorator @{name or '?'}", 10)
            self.visit(d)
        if node.name in _META_DUNDERS:
            self.add(f"dynamic attribute hook {node.name}", 10)
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
            if arg.annotation is not None:
                self.visit(arg.annotation)
        self.func_stack.append(node.name)
        saved_depth, self.loop_depth = self.loop_depth, 0
        for stmt in node.body:
            self.visit(stmt)
        self.loop_depth = saved_depth
        self.func_stack.pop()

    _parent_kind: ast.AST | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.add("async function", 8)
        self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.add("lambda", 3)
        self.generic_visit(node)

    def _annotation(self, ann: ast.expr | None) -> None:
        if ann is None:
            return
        names = _names_in(ann)
        if names & _CONTAINER_NAMES or (isinstance(ann, ast.BinOp) and "None" in names):
            self.add("container or Optional type", 4)
        elif names & _SCALAR_NAMES:
            self.add("numeric/bool type", 2)

    # ---------------------------------------------------------------- variables
    def visit_Assign(self, node: ast.Assign) -> None:
        self.add("assignment", 2)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.add("assignment", 2)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.add("assignment", 2)
        self._annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.add("assignment", 2)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if not (isinstance(node.op, ast.Add) and (_is_strish(node.left) or _is_strish(node.right)
                                                  or isinstance(node.left, ast.BinOp))):
            self.add("arithmetic", 2)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.add("comparison", 2)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        self.add("boolean logic", 2)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        # -1 in `s[::-1]` is a literal, not arithmetic
        if not (isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant)):
            self.add("arithmetic", 2)
        self.generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.add("conditional expression", 2)
        self.generic_visit(node)

    # ---------------------------------------------------------------- branching, calls
    def visit_If(self, node: ast.If) -> None:
        self.add("if statement", 3)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name):
            self.calls.add(node.func.id)
            if node.func.id in _META_CALLS:
                self.add(f"dynamic call {node.func.id}()", 10)
            if node.func.id == "type" and len(node.args) == 3:
                self.add("type() with 3 arguments", 10)
            if self.func_stack and node.func.id == self.func_stack[-1]:
                self.add("recursion", 3)
        self.generic_visit(node)

    # ---------------------------------------------------------------- collections
    def _collection(self, node: ast.AST, what: str) -> None:
        self.add(what, 4)
        self.generic_visit(node)

    def visit_List(self, node: ast.List) -> None:
        self._collection(node, "list")

    def visit_Dict(self, node: ast.Dict) -> None:
        self._collection(node, "dict")

    def visit_Set(self, node: ast.Set) -> None:
        self._collection(node, "set")

    def visit_Tuple(self, node: ast.Tuple) -> None:
        self._collection(node, "tuple")

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._collection(node, "comprehension")

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._collection(node, "comprehension")

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._collection(node, "comprehension")

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._collection(node, "comprehension")

    # ---------------------------------------------------------------- control flow
    def _loop(self, node: ast.For | ast.While | ast.AsyncFor) -> None:
        if self.loop_depth:
            self.add("nested loop", 5)
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    def visit_For(self, node: ast.For) -> None:
        self.add("for loop", 4)
        self._loop(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.add("async for", 8)
        self._loop(node)

    def visit_While(self, node: ast.While) -> None:
        self.add("while loop", 5)
        self._loop(node)

    def visit_Break(self, node: ast.Break) -> None:
        self.add("break", 5)

    def visit_Continue(self, node: ast.Continue) -> None:
        self.add("continue", 5)

    def visit_Return(self, node: ast.Return) -> None:
        if self.loop_depth:
            self.add("return inside a loop", 5)
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        self.add("match statement", 5)
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.add("generator", 5)
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.add("generator", 5)
        self.generic_visit(node)

    # ---------------------------------------------------------------- errors
    def visit_Try(self, node: ast.Try) -> None:
        self.add("try/except", 6)
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_Raise(self, node: ast.Raise) -> None:
        self.add("raise", 6)
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self.add("assert", 6)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        self.add("with (context manager)", 6)
        self.generic_visit(node)

    # ---------------------------------------------------------------- classes and beyond
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.add("class", 7)
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self.add("metaclass", 10)
        for d in node.decorator_list:
            name = _decorator_name(d)
            if name not in _STRUCTURAL_DECORATORS:
                self.add(f"decorator @{name or '?'}", 10)
        saved, self._parent_kind = self._parent_kind, node
        for stmt in node.body:
            self.visit(stmt)
        self._parent_kind = saved
        for b in node.bases:
            self.visit(b)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.add("async with", 8)
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        self.add("await", 8)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.add("global mutable state", 9)

    def _module(self, name: str) -> None:
        root = name.split(".")[0]
        if root in _CONCURRENCY_MODULES:
            self.add(f"import {root}", 8)
        elif root in _FFI_MODULES:
            self.add(f"import {root}", 9)
        elif root in _META_MODULES:
            self.add(f"import {root}", 10)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module:
            self._module(node.module)


def classify(python: str) -> Classification:
    """Level of a Python source. Raises SyntaxError when it does not parse."""
    tree = ast.parse(python)
    v = _Visitor()
    v.visit(tree)
    if v.n_funcs > 1:
        v.add("several functions", 3)
    if (v.calls & v.defined) and "recursion" not in v.found and v.n_funcs > 1:
        v.add("calls a helper function", 3)
    level = max(v.found.values(), default=1)
    reasons = tuple(sorted((r for r, lv in v.found.items() if lv == level))) if level > 1 else ("string building",)
    return Classification(level=level, reasons=reasons)
