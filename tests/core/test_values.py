"""The one equality of expected values, the one float tolerance, and decoding what Rust returned."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse.core.values import (
    ABS_TOL,
    BOOL,
    FLOAT,
    INT,
    NONE,
    REL_TOL,
    STR,
    PyType,
    WireError,
    equal,
    floats_close,
    from_wire,
    infer_type,
    same_value,
)

LIST_F = PyType("list", (FLOAT,))
OPT_I = PyType("option", (INT,))
DICT_SF = PyType("dict", (STR, FLOAT))
SET_T = PyType("set", (PyType("tuple", (INT, STR)),))
NESTED = PyType("dict", (STR, PyType("list", (PyType("option", (PyType("tuple", (INT, FLOAT)),)),))))


@pytest.mark.parametrize("a,b,t,want", [
    (1, 1, INT, True),
    (1, 1.0, INT, False),          # an i64 slot: a float expected value is a type error, never equal
    (True, 1, INT, False),         # bool is not int
    (1.0, 1, FLOAT, True),         # a float slot: Python `-> float` may return 1, Rust returns 1.0
    (0.1 + 0.2, 0.3, FLOAT, True),
    (1e-13, 0.0, FLOAT, True),     # absolute floor
    (1e-11, 0.0, FLOAT, False),
    (1e20, 1e20 * (1 + 5e-10), FLOAT, True),
    (1e20, 1e20 * (1 + 5e-9), FLOAT, False),
    (math.nan, math.nan, FLOAT, True),
    (math.nan, 0.0, FLOAT, False),
    (-0.0, 0.0, FLOAT, True),
    (math.inf, math.inf, FLOAT, True),
    (math.inf, -math.inf, FLOAT, False),
    (math.inf, 1e308, FLOAT, False),
    (True, True, BOOL, True),
    ("a", "a", STR, True),
    (None, None, NONE, True),
    (None, None, OPT_I, True),
    (None, 0, OPT_I, False),
    (3, 3, OPT_I, True),
    ([0.1, 0.2], [0.1, 0.2 + 1e-17], LIST_F, True),
    ([0.1], [0.1, 0.2], LIST_F, False),
    ({"a": 1.0, "b": 2.0}, {"b": 2.0 + 1e-15, "a": 1.0}, DICT_SF, True),   # order never matters
    ({"a": 1.0}, {"b": 1.0}, DICT_SF, False),
    ({(1, "x"), (2, "y")}, {(2, "y"), (1, "x")}, SET_T, True),
    ({(1, "x")}, {(1, "y")}, SET_T, False),
    ({"k": [None, (1, math.nan)]}, {"k": [None, (1, math.nan)]}, NESTED, True),
    ({"k": [None, (1, 0.5)]}, {"k": [(1, 0.5), None]}, NESTED, False),
])
def test_equal_corner_cases(a: object, b: object, t: PyType, want: bool) -> None:
    assert equal(a, b, t) is want
    assert equal(b, a, t) is want  # symmetric


def test_tolerance_is_one_rule() -> None:
    assert (REL_TOL, ABS_TOL) == (1e-9, 1e-12)
    assert floats_close(1.0, 1.0 + 0.5e-9) and not floats_close(1.0, 1.0 + 2e-9)


@pytest.mark.parametrize("a,b,want", [
    (1, 1.0, True),          # both fit float: the same f64
    (1, True, False),        # no type holds both
    (math.nan, math.nan, True),
    ([1, 2], (1, 2), False),  # list vs tuple: different Rust types
    ({1: [1.0]}, {1: [1]}, True),
    ({"a"}, {"a"}, True),
    (None, None, True),
    (None, 0, False),
    ("1", 1, False),
    ([], [], True),
    ({}, {}, True),
    ((), (), True),
    ([[]], [[]], True),
    ((1, None), (1, None), True),
    ([1, "a"], [1, "a"], False),  # no Rust type holds this list
])
def test_same_value_for_two_python_values(a: object, b: object, want: bool) -> None:
    assert same_value(a, b) is want


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_float_equality_symmetric_and_reflexive(a: float, b: float) -> None:
    assert floats_close(a, a)
    assert floats_close(a, b) == floats_close(b, a)


def test_inference_lattice() -> None:
    assert infer_type([1, 2.5]) == FLOAT
    assert infer_type([[], [1]]) == PyType("list", (INT,))
    assert infer_type([None, "a"]) == PyType("option", (STR,))
    assert infer_type([1, "a"]) is None


def test_from_wire_typed_and_strict() -> None:
    assert from_wire([[["k", [None, [[1, 0.5]]]]]][0], NESTED) == {"k": [None, (1, 0.5)]}
    assert from_wire(float("nan"), FLOAT) != from_wire(float("nan"), FLOAT)  # NaN, compared by equal()
    assert from_wire(2, FLOAT) == 2.0 and isinstance(from_wire(2, FLOAT), float)
    assert from_wire([[1, "x"]], SET_T) == {(1, "x")}
    for bad, t in [(True, INT), (1.5, INT), (2**63, INT), ("1", INT), (1, BOOL), ([1, 2], OPT_I),
                   ([[1, "x"], [1, "x"]], SET_T), ([["a", 1.0], ["a", 2.0]], DICT_SF), ([1], PyType("tuple", (INT, INT))),
                   (None, STR), ({"a": 1}, DICT_SF)]:
        with pytest.raises(WireError):
            from_wire(bad, t)
