"""Small wrong versions of a Python source: the yardstick for how strong a set of tests is.

Used twice: plus tests keep the inputs that tell the corpus Python from its mutants, and program
suites get a mutation score (a kept test that tells no mutant apart is weak). One mutant changes
one node: an arithmetic/boolean operator, a comparison, a constant, the order of two call
arguments, or drops one statement. Docstrings, help/usage strings of argparse and the code under
`if __name__ == "__main__"` guards' boilerplate are left alone: mutating wording that no test
can reasonably pin down would only add equivalent mutants.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

MUTATOR_VERSION = 1
KINDS = ("operator", "comparison", "constant", "swap_args", "drop_statement", "rust_semantics")
# How a translation to Rust typically goes wrong while still compiling: integer division and
# remainder truncate toward zero in Rust (Python floors), and `/` of two ints becomes integer division.
_TRUNC_DIV = "(lambda p, q: abs(p) // abs(q) * (1 if (p >= 0) == (q >= 0) else -1))"
_TRUNC_MOD = "(lambda p, q: p - q * (abs(p) // abs(q) * (1 if (p >= 0) == (q >= 0) else -1)))"
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
    ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.BitXor: ast.BitOr,
}
_CMP_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_WORDING_KEYWORDS = frozenset({"help", "description", "epilog", "metavar", "usage", "prog", "dest"})


@dataclass(frozen=True)
class PyMutant:
    """One mutant: `id` is stable for a given source (kind + position), `source` is the mutated module."""

    id: str
    kind: str
    line: int
    description: str
    source: str


def _docstring_ids(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.add(id(first.value))
                out.add(id(first))
    return out


def _wording_ids(tree: ast.AST) -> set[int]:
    """String constants given as help=/description=/... keywords: wording, not behaviour."""
    out: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.keyword) and n.arg in _WORDING_KEYWORDS:
            out.update(id(m) for m in ast.walk(n.value))
    return out


def _sites(tree: ast.Module, skip: set[int]) -> Iterator[tuple[str, ast.AST, str]]:
    """(kind, node, what) for every mutable site, in source order."""
    for n in ast.walk(tree):
        if id(n) in skip:
            continue
        if isinstance(n, (ast.BinOp, ast.AugAssign)) and type(n.op) in _BINOP_SWAPS:
            yield "operator", n, f"{type(n.op).__name__} -> {_BINOP_SWAPS[type(n.op)].__name__}"
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.FloorDiv, ast.Mod, ast.Div)):
            yield "rust_semantics", n, {ast.FloorDiv: "// truncating toward zero", ast.Mod: "% with the sign of the "
                                        "dividend", ast.Div: "/ as integer division"}[type(n.op)]
        elif isinstance(n, ast.BoolOp):
            yield "operator", n, f"{type(n.op).__name__} -> {'Or' if isinstance(n.op, ast.And) else 'And'}"
        elif isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.Not, ast.USub)):
            yield "operator", n, f"drop {type(n.op).__name__}"
        elif isinstance(n, ast.Compare) and type(n.ops[0]) in _CMP_SWAPS:
            yield "comparison", n, f"{type(n.ops[0]).__name__} -> {_CMP_SWAPS[type(n.ops[0])].__name__}"
        elif isinstance(n, ast.Constant) and not isinstance(n.value, bytes) and n.value is not None \
                and n.value is not Ellipsis:
            yield "constant", n, f"{n.value!r}"[:40] + " changed"
        elif isinstance(n, ast.Call) and len(n.args) >= 2 and not any(isinstance(a, ast.Starred) for a in n.args[:2]):
            yield "swap_args", n, "first two arguments swapped"
        for field in ("body", "orelse", "finalbody"):
            body = getattr(n, field, None)
            if isinstance(body, list) and len(body) >= 2:
                for st in body:
                    if id(st) not in skip and not isinstance(st, (ast.FunctionDef, ast.ClassDef, ast.Import,
                                                                      ast.ImportFrom, ast.AsyncFunctionDef)):
                        yield "drop_statement", st, f"drop {type(st).__name__}"


def _mutated_constant(v: object) -> object:
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, float):
        return v + 1.0 if v == 0 else v * 1.5
    if isinstance(v, str):
        return "" if v else "x"
    return v


def _apply(tree: ast.Module, kind: str, target: ast.AST, parent_body: dict[int, tuple[list[ast.stmt], int]]) -> None:
    n = target
    if kind == "operator":
        if isinstance(n, (ast.BinOp, ast.AugAssign)):
            n.op = _BINOP_SWAPS[type(n.op)]()
        elif isinstance(n, ast.BoolOp):
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()
        elif isinstance(n, ast.UnaryOp):  # `not x` -> `x`, `-x` -> `x`
            _Replace(n, n.operand).visit(tree)
    elif kind == "rust_semantics":
        assert isinstance(n, ast.BinOp)
        if isinstance(n.op, ast.Div):
            n.op = ast.FloorDiv()
        else:
            fn = ast.parse(_TRUNC_DIV if isinstance(n.op, ast.FloorDiv) else _TRUNC_MOD, mode="eval").body
            _Replace(n, ast.Call(func=fn, args=[n.left, n.right], keywords=[])).visit(tree)
    elif kind == "comparison":
        assert isinstance(n, ast.Compare)
        n.ops[0] = _CMP_SWAPS[type(n.ops[0])]()
    elif kind == "constant":
        assert isinstance(n, ast.Constant)
        n.value = _mutated_constant(n.value)
    elif kind == "swap_args":
        assert isinstance(n, ast.Call)
        n.args[0], n.args[1] = n.args[1], n.args[0]
    elif kind == "drop_statement":
        body, i = parent_body[id(n)]
        body[i] = ast.Pass()


class _Replace(ast.NodeTransformer):
    def __init__(self, old: ast.AST, new: ast.AST) -> None:
        self.old, self.new = old, new

    def generic_visit(self, node: ast.AST) -> ast.AST:
        return self.new if node is self.old else super().generic_visit(node)


def mutants(source: str, *, limit: int | None = None, within: str | None = None) -> list[PyMutant]:
    """Every single-site mutant of `source` that still compiles and differs in text, in source order;
    `within`: only inside the top-level function of that name; `limit`: spread over the list."""
    tree = ast.parse(source)
    scope: ast.AST = tree
    if within is not None:
        found = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == within]
        if not found:
            return []
        scope = found[-1]
    skip = _docstring_ids(tree) | _wording_ids(tree)
    base_text = ast.unparse(tree)
    sites = [(k, node, what) for k, node, what in _sites(tree, skip) if _inside(scope, node)]
    sites.sort(key=lambda s: (getattr(s[1], "lineno", 0), getattr(s[1], "col_offset", 0), KINDS.index(s[0])))
    out: list[PyMutant] = []
    seen: set[str] = set()
    nodes = list(ast.walk(tree))
    ids: dict[str, int] = {}
    for k, node, what in sites:
        index = nodes.index(node)
        t2 = copy.deepcopy(tree)
        target = list(ast.walk(t2))[index]
        parents = {id(st): (body, i) for p in ast.walk(t2) for f in ("body", "orelse", "finalbody")
                   for body in [getattr(p, f, None)] if isinstance(body, list)
                   for i, st in enumerate(body)}
        _apply(t2, k, target, parents)
        text = ast.unparse(ast.fix_missing_locations(t2))
        if text == base_text or text in seen:
            continue
        try:
            compile(text, "<mutant>", "exec")
        except SyntaxError:
            continue
        seen.add(text)
        line = getattr(node, "lineno", 0)
        mid = f"{k}@{line}:{getattr(node, 'col_offset', 0)}"
        ids[mid] = ids.get(mid, 0) + 1
        if ids[mid] > 1:  # nested nodes can start at the same column: `x // 2 % 7`
            mid += f"#{ids[mid]}"
        out.append(PyMutant(mid, k, line, f"line {line}: {what}", text))
    return _spread(out, limit) if limit is not None else out


def _inside(scope: ast.AST, node: ast.AST) -> bool:
    if isinstance(scope, ast.Module):
        return True
    lo, hi = getattr(scope, "lineno", 0), getattr(scope, "end_lineno", 0) or 0
    return lo <= getattr(node, "lineno", -1) <= hi


def _spread(items: list[PyMutant], k: int) -> list[PyMutant]:
    """Up to k items spread evenly over the list (deterministic), so a limit still covers the whole source
    and every kind that occurs."""
    if len(items) <= k:
        return items
    by_kind: dict[str, list[PyMutant]] = {}
    for m in items:
        by_kind.setdefault(m.kind, []).append(m)
    chosen: list[PyMutant] = []
    quota = max(1, k // max(1, len(by_kind)))
    for ms in by_kind.values():
        if len(ms) <= quota:
            chosen += ms
        else:
            step = (len(ms) - 1) / max(1, quota - 1) if quota > 1 else 0
            chosen += [ms[round(i * step)] for i in range(quota)]
    rest = [m for m in items if m not in chosen]
    chosen += rest[: max(0, k - len(chosen))]
    order = {m.id: i for i, m in enumerate(items)}
    return sorted(chosen[:k], key=lambda m: order[m.id])
