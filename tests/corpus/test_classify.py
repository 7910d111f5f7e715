"""The Py2Rs classifier reads the AST: features move the level, text inside strings never does."""

from __future__ import annotations

import pytest

from sse.task.corpus.classify import DIFFICULTIES, LEVEL_NAMES, WEIGHTS, classify, dots, level_weight

CASES = {
    1: 'def f(name: str) -> str:\n    return "Hi, " + name + "!"\n',
    2: "def f(a: int, b: int) -> int:\n    total = a * b\n    return total\n",
    3: "def f(n: int) -> int:\n    if n <= 1:\n        return 1\n    return n * f(n - 1)\n",
    4: "def f(xs: list[int]) -> list[int]:\n    return [x for x in xs]\n",
    5: "def f(n: int) -> int:\n    while n > 1:\n        n //= 2\n    return n\n",
    6: "def f(x: int) -> int:\n    if x < 0:\n        raise ValueError('neg')\n    return x\n",
    7: "class A:\n    def f(self) -> int:\n        return 1\n",
    8: "import threading\n\ndef f() -> None:\n    threading.Thread(target=print).start()\n",
    9: "import ctypes\n\ndef f() -> int:\n    return ctypes.sizeof(ctypes.c_int)\n",
    10: "def f(obj: object, name: str) -> object:\n    return getattr(obj, name)\n",
}


@pytest.mark.parametrize("level", sorted(CASES))
def test_each_level_is_reached_by_its_feature(level: int) -> None:
    assert classify(CASES[level]).level == level


def test_keywords_in_comments_docstrings_and_strings_change_nothing() -> None:
    plain = 'def f(name: str) -> str:\n    return "Hi " + name\n'
    noisy = (
        '"""import threading; class X: while True: raise; async def; eval(x); ctypes"""\n'
        "# import asyncio\n# class Foo:  while  try:  except:  global\n"
        "def f(name: str) -> str:\n"
        '    """for x in xs: while True: break; raise ValueError; lambda: 0"""\n'
        "    # with open(p) as fh: match x: case 1: yield\n"
        '    return "Hi " + name  # getattr(self, name); exec("x")\n'
    )
    assert classify(plain).level == 1
    got = classify(noisy)
    assert got.level == 1, got.reasons


def test_highest_feature_wins_and_reasons_name_it() -> None:
    src = (
        "def f(xs: list[int]) -> int:\n"
        "    total = 0\n"
        "    for x in xs:\n"
        "        for y in xs:\n"
        "            total += x * y\n"
        "    return total\n"
    )
    c = classify(src)
    assert c.level == 5
    assert "nested loop" in c.reasons
    assert c.name == "ControlFlow" and c.difficulty == "Medium" and c.weight == 4.0


@pytest.mark.parametrize(
    ("src", "level"),
    [
        ("def f(s: str) -> str:\n    return s[::-1]\n", 1),  # a negative literal is not arithmetic
        ("def f(x: int = 3) -> int:\n    return x\n", 3),  # default argument
        ("def f() -> int:\n    g = lambda: 1\n    return g()\n", 3),
        ("from typing import Optional\n\ndef f(x: Optional[int]) -> int:\n    return 0\n", 4),
        ("def f(x: int | None) -> int:\n    return 0\n", 4),
        ("def f(xs: list[int]) -> int:\n    for x in xs:\n        return x\n    return 0\n", 5),
        ("def f(c: str) -> int:\n    match c:\n        case 'a':\n            return 1\n    return 0\n", 5),
        ("def f(p: str) -> str:\n    with open(p) as fh:\n        return fh.read()\n", 6),
        ("async def f() -> int:\n    return 1\n", 8),
        ("N = 0\n\ndef f() -> int:\n    global N\n    N += 1\n    return N\n", 9),
        ("import functools\n\n@functools.lru_cache\ndef f(n: int) -> int:\n    return n\n", 10),
        ("from dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int\n", 7),
        ("class M(type):\n    pass\n\nclass A(metaclass=M):\n    pass\n", 10),
    ],
)
def test_specific_features(src: str, level: int) -> None:
    assert classify(src).level == level, classify(src).reasons


def test_tables_and_dots() -> None:
    assert LEVEL_NAMES == ("Hello", "Variables", "Functions", "Collections", "ControlFlow", "ErrorHandling",
                           "OopTraits", "Concurrency", "FfiUnsafe", "Metaprogramming")
    assert WEIGHTS == (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0)
    assert DIFFICULTIES[0] == "Trivial" and DIFFICULTIES[9] == "Expert"
    assert dots({3, 4, 5, 6}) == "○○●●●●○○○○"
    assert dots(set()) == "○" * 10
    with pytest.raises(ValueError):
        level_weight(11)


def test_syntax_error_propagates() -> None:
    with pytest.raises(SyntaxError):
        classify("def f(:\n")
