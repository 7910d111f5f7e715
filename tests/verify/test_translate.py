"""Type-directed translation: signatures, literals, inference, and real compilation of the tests."""

from __future__ import annotations

import pytest
from verify_helpers import make_example, needs_rustc

from sse.core.errors import CorpusError
from sse.core.records import Example, TestCase
from sse.scorers import VerifyRequest, rust_signature, verify_batch
from sse.task.config import GroundTruth
from sse.task.translate import (
    FLOAT,
    INT,
    STR,
    PyType,
    expectations,
    generate_driver,
    infer_type,
    parse_signature,
    rust_value,
)


def sig(py: str, entry: str = "f", tests: list | None = None) -> str:
    return rust_signature(make_example(py, entry, tests or [((1,), 1)]))


@pytest.mark.parametrize("py,expected", [
    ("def f(x: int) -> int: ...", "pub fn f(x: i64) -> i64"),
    ("def f(x: float, y: bool) -> float: ...", "pub fn f(x: f64, y: bool) -> f64"),
    ("def f(s: str) -> str: ...", "pub fn f(s: &str) -> String"),
    ("def f(xs: list[str]) -> list[str]: ...", "pub fn f(xs: Vec<String>) -> Vec<String>"),
    ("from typing import List, Dict\ndef f(xs: List[int]) -> Dict[str, int]: ...",
     "pub fn f(xs: Vec<i64>) -> HashMap<String, i64>"),
    ("def f(p: tuple[int, str]) -> set[int]: ...", "pub fn f(p: (i64, String)) -> HashSet<i64>"),
    ("from typing import Optional\ndef f(x: Optional[int]) -> int | None: ...",
     "pub fn f(x: Option<i64>) -> Option<i64>"),
    ("def f(x: None | str) -> None: ...", "pub fn f(x: Option<String>)"),
    ("def f(m: dict[int, list[tuple[int, float]]]) -> 'list[int]': ...",
     "pub fn f(m: HashMap<i64, Vec<(i64, f64)>>) -> Vec<i64>"),
    ("def f(type: int) -> int: ...", "pub fn f(r#type: i64) -> i64"),
])
def test_signature_table(py: str, expected: str) -> None:
    assert sig(py) == expected


def test_raising_case_makes_result() -> None:
    ex = make_example("def f(x: int) -> int: ...", "f",
                      [TestCase((1,), 1), TestCase((0,), raises="ValueError"), TestCase((2,), 2)])
    assert rust_signature(ex) == "pub fn f(x: i64) -> Result<i64, String>"
    code = generate_driver(ex)
    assert "Out::from_result(actual)" in code and "::core::result::Result<i64, ::std::string::String>" in code
    assert [e.raises for e in expectations(ex)] == [None, "ValueError", None]


def test_none_return_with_raise() -> None:
    ex = make_example("def f(x: int) -> None: ...", "f", [TestCase((1,), None), TestCase((0,), raises="KeyError")])
    assert rust_signature(ex) == "pub fn f(x: i64) -> Result<(), String>"


@pytest.mark.parametrize("py,msg", [
    ("def f(x: Any) -> int: ...", "unsupported annotation"),
    ("def f(x: list) -> int: ...", "no element type"),
    ("def f(x: tuple[int, ..., int]) -> int: ...", "unsupported annotation"),
    ("def f(x: set[float]) -> int: ...", "not hashable"),
    ("def f(*xs: int) -> int: ...", "*args"),
    ("def g(x: int) -> int: ...", "no function named 'f'"),
])
def test_rejections_are_one_line_corpus_errors(py: str, msg: str) -> None:
    with pytest.raises(CorpusError) as e:
        sig(py)
    assert msg in str(e.value) and "\n" not in str(e.value) and "fix:" in str(e.value)


def test_inference_from_values() -> None:
    assert infer_type([1, 2]) == INT
    assert infer_type([1, 2.5]) == FLOAT
    assert infer_type([[], [1]]) == PyType("list", (INT,))
    assert infer_type([None, "a"]) == PyType("option", (STR,))
    assert infer_type([{"a": [1.0]}, {}]) == PyType("dict", (STR, PyType("list", (FLOAT,))))
    assert infer_type([[]]) is None  # element type undetermined
    assert infer_type([1, "a"]) is None
    ex = make_example("def f(xs, k):\n    return xs[:k]", "f", [(([1, 2], 1), [1]), (([], 0), [])])
    assert rust_signature(ex) == "pub fn f(xs: Vec<i64>, k: i64) -> Vec<i64>"


def test_missing_annotation_undeterminable_is_rejected() -> None:
    ex = make_example("def f(xs):\n    return 0", "f", [(([],), 0), (([],), 0)])
    with pytest.raises(CorpusError, match="no annotation"):
        rust_signature(ex)


def test_literals() -> None:
    assert rust_value([], PyType("list", (PyType("list", (INT,)),)), q=False) == "Vec::<Vec<i64>>::new()"
    assert rust_value({}, PyType("dict", (STR, INT)), q=False) == "HashMap::<String, i64>::new()"
    assert rust_value(-3, INT) == "(-3i64)"
    assert rust_value(1e-05, FLOAT) == "1.0e-05f64"
    assert rust_value(float("inf"), FLOAT, q=False) == "f64::INFINITY"
    assert rust_value('a"\\\n\u00e9', STR, top_arg=True) == '"a\\"\\\\\\u{a}\\u{e9}"'
    assert rust_value((1,), PyType("tuple", (INT,))) == "(1i64,)"
    assert rust_value(None, PyType("option", (INT,)), q=False) == "None"
    # the harness form: every path absolute, no trait needed in scope
    assert rust_value(None, PyType("option", (INT,))) == "::core::option::Option::None"
    assert rust_value({"a": 1}, PyType("dict", (STR, INT))) == \
        '::core::convert::From::from([(::std::string::String::from("a"), 1i64)])'
    assert rust_value([[1]], PyType("list", (PyType("list", (INT,)),))) == "::std::vec![::std::vec![1i64]]"
    with pytest.raises(Exception, match="i64"):
        rust_value(2**70, INT)


def test_bad_test_value_names_test() -> None:
    ex = make_example("def f(x: int) -> int: ...", "f", [((1,), 1), (("a",), 1)])
    with pytest.raises(CorpusError, match=r"tests\[1\]"):
        generate_driver(ex)


def test_no_expected_value_in_the_harness() -> None:
    ex = make_example("def f(x: int) -> int: ...", "f", [((1,), 987654321), ((2,), -123456789), ((3,), 55555)])
    code = generate_driver(ex)
    assert "987654321" not in code and "123456789" not in code and "55555" not in code
    assert [e.expected for e in expectations(ex)] == [987654321, -123456789, 55555]


def test_kwargs_and_defaults() -> None:
    ex = make_example("def f(a: int, b: int = 10) -> int: ...", "f",
                      [TestCase((1,), 11), TestCase((1,), 3, kwargs={"b": 2})])
    code = generate_driver(ex)
    assert "let a1: i64 = 10i64;" in code and "let a1: i64 = 2i64;" in code
    assert parse_signature(ex).params[1].has_default


# ---------------------------------------------------------------- compiled end to end
CASES = [
    # (python, entry, tests, correct rust, wrong rust)
    ("def f(x: float) -> float:\n    return x / 10", "f",
     [((0.3,), 0.03), ((1.0,), 0.1), ((0.0,), 0.0)],
     "pub fn f(x: f64) -> f64 { x * 0.1 }",  # differs from x / 10 in the last bits: tolerance
     "pub fn f(x: f64) -> f64 { x * 0.1001 }"),
    ("def f(s: str) -> dict[str, int]:\n    ...", "f",
     [(("abca",), {"a": 2, "b": 1, "c": 1}), (("",), {}), (("zz",), {"z": 2})],
     "use std::collections::HashMap;\npub fn f(s: &str) -> HashMap<String, i64> {\n"
     "    let mut m = HashMap::new(); for c in s.chars() { *m.entry(c.to_string()).or_insert(0) += 1; } m }",
     "use std::collections::HashMap;\npub fn f(s: &str) -> HashMap<String, i64> {\n"
     "    let mut m = HashMap::new(); for c in s.chars() { *m.entry(c.to_string()).or_insert(1) += 1; } m }"),
    ("def f(xs: list[int]) -> set[int]:\n    ...", "f",
     [(([3, 1, 3],), {1, 3}), (([],), set()), (([5],), {5})],
     "use std::collections::HashSet;\npub fn f(xs: Vec<i64>) -> HashSet<i64> { xs.into_iter().collect() }",
     "use std::collections::HashSet;\npub fn f(xs: Vec<i64>) -> HashSet<i64> { xs.into_iter().skip(1).collect() }"),
    ("from typing import Optional\ndef f(xs: list[int]) -> Optional[tuple[int, str]]:\n    ...", "f",
     [(([],), None), (([4, 2],), (2, "two")), (([7],), (7, "seven"))],
     "pub fn f(xs: Vec<i64>) -> Option<(i64, String)> { let m = *xs.iter().min()?;"
     " Some((m, if m == 2 { \"two\".to_string() } else { \"seven\".to_string() })) }",
     "pub fn f(xs: Vec<i64>) -> Option<(i64, String)> { let m = *xs.iter().max()?;"
     " Some((m, if m == 2 { \"two\".to_string() } else { \"seven\".to_string() })) }"),
    ("def f(m: dict[str, list[float]]) -> list[list[float]]:\n    ...", "f",
     [(({"a": [1.5], "b": []},), [[1.5], []]), (({},), []), (({"x": [0.1, 0.2]},), [[0.1, 0.2]])],
     "use std::collections::HashMap;\npub fn f(m: HashMap<String, Vec<f64>>) -> Vec<Vec<f64>> {"
     " let mut k: Vec<_> = m.into_iter().collect(); k.sort_by(|a, b| a.0.cmp(&b.0)); k.into_iter().map(|x| x.1).collect() }",
     "use std::collections::HashMap;\npub fn f(m: HashMap<String, Vec<f64>>) -> Vec<Vec<f64>> {"
     " let mut k: Vec<_> = m.into_iter().collect(); k.sort_by(|a, b| b.0.cmp(&a.0)); k.into_iter().map(|x| x.1).collect() }"),
    ("def f(x: int) -> int:\n    if x < 0: raise ValueError()\n    return x", "f",
     [TestCase((1,), 1), TestCase((-1,), raises="ValueError"), TestCase((0,), 0)],
     "pub fn f(x: i64) -> Result<i64, String> { if x < 0 { Err(\"neg\".into()) } else { Ok(x) } }",
     "pub fn f(x: i64) -> Result<i64, String> { if x < 0 { Ok(0) } else { Ok(x) } }"),
    ("def f(words, sep):\n    return sep.join(words)", "f",
     [((["a", "b"], "+"), "a+b"), (([], ","), ""), ((["x"], "+"), "x")],
     "pub fn f(words: Vec<String>, sep: &str) -> String { words.join(sep) }",
     "pub fn f(words: Vec<String>, sep: &str) -> String { words.join(\"-\") }"),
    ("def f(b: bool, n: int) -> list[bool]:\n    ...", "f",
     [((True, 2), [True, True]), ((False, 0), []), ((False, 1), [False])],
     "pub fn f(b: bool, n: i64) -> Vec<bool> { vec![b; n as usize] }",
     "pub fn f(b: bool, n: i64) -> Vec<bool> { vec![b; (n as usize).saturating_sub(1)] }"),
]


@needs_rustc
def test_correct_pass_and_wrong_fail_compiled() -> None:
    gt = GroundTruth()
    reqs = []
    for i, (py, entry, tests, good, bad) in enumerate(CASES):
        ex = make_example(py, entry, tests, ex_id=f"c{i}")
        reqs += [VerifyRequest(ex, good, gt), VerifyRequest(ex, bad, gt)]
    verdicts = verify_batch(reqs)
    for i, v in enumerate(verdicts):
        want = "pass" if i % 2 == 0 else "test_failure"
        assert v.status == want, (CASES[i // 2][0], v.status, v.diagnostics)
        assert v.tests_total == 3


def test_variable_length_tuple_is_a_vec() -> None:
    ex = Example(id="f", python="def f(xs: tuple[str, ...]) -> tuple[int, ...]: ...", entry_point="f",
                 tests=(TestCase(args=(("a", "b"),), expected=(1, 2)), TestCase(args=((),), expected=())))
    assert rust_signature(ex) == "pub fn f(xs: Vec<String>) -> Vec<i64>"
    code = generate_driver(ex)
    assert '::std::vec![::std::string::String::from("a"), ::std::string::String::from("b")]' in code
    assert expectations(ex)[0].expected == (1, 2) and expectations(ex)[0].ret == PyType("list", (INT,))
