"""Loading is strict, expectations come from running the Python, and confirmations are cached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sse.core.errors import CorpusError
from sse.core.store import Store
from sse.task.corpus import load_corpus
from sse.task.corpus import loader as loader_mod

PY = "def add(a: int, b: int) -> int:\n    return a + b\n"


def record(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": "add",
        "entry_point": "add",
        "python": PY,
        "tests": [{"args": "1, 2", "expected": "3"}, {"args": "0, 0"}, {"args": "-5, 2"}],
        "rust": "pub fn add(a: i64, b: i64) -> i64 { a + b }\n",
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def write(folder: Path, rec: dict[str, Any], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{name or rec.get('id', 'x')}.yaml"
    p.write_text(yaml.safe_dump(rec, sort_keys=False), encoding="utf-8")
    return p


def error_of(spec: str | Path, **kw: Any) -> str:
    with pytest.raises(CorpusError) as ei:
        load_corpus(str(spec), **kw)
    msg = str(ei.value)
    assert "\n" not in msg
    return msg


def test_expected_values_come_from_running_the_python(tmp_path: Path) -> None:
    write(tmp_path / "c", record())
    c = load_corpus(str(tmp_path / "c"))
    (ex,) = c.examples
    assert [t.expected for t in ex.tests] == [3, 0, -3]
    assert [t.args for t in ex.tests] == [(1, 2), (0, 0), (-5, 2)]
    assert ex.rust_reference and ex.rust_reference.startswith("pub fn add")
    assert ex.level == 2 and not ex.level_explicit
    assert c.kind == "function" and ex.source_path.endswith("add.yaml")


def test_wrong_expected_names_file_test_and_both_values(tmp_path: Path) -> None:
    rec = record(tests=[{"args": "1, 2"}, {"args": "2, 2", "expected": "5"}, {"args": "0, 1"}])
    p = write(tmp_path / "c", rec)
    msg = error_of(tmp_path / "c")
    assert str(p) in msg and "tests[1].expected" in msg and "5" in msg and "4" in msg


def test_wrong_expected_is_caught_even_when_the_run_is_cached(tmp_path: Path) -> None:
    write(tmp_path / "c", record())
    load_corpus(str(tmp_path / "c"))
    rec = record(tests=[{"args": "1, 2", "expected": "4"}, {"args": "0, 0"}, {"args": "-5, 2"}])
    write(tmp_path / "c", rec)
    assert "tests[0].expected" in error_of(tmp_path / "c")


def test_types_matter_when_comparing_expectations(tmp_path: Path) -> None:
    rec = record(python="def add(a: int, b: int) -> bool:\n    return a == b\n",
                 tests=[{"args": "1, 1", "expected": "1"}, {"args": "0, 0"}, {"args": "1, 2"}])
    write(tmp_path / "c", rec)
    assert "tests[0].expected" in error_of(tmp_path / "c")


def test_float_expectations_use_a_tolerance(tmp_path: Path) -> None:
    rec = record(python="def add(a: float, b: float) -> float:\n    return a + b\n",
                 tests=[{"args": "0.1, 0.2", "expected": "0.3"}, {"args": "0.0, 0.0"}, {"args": "1.5, -1.5"}])
    write(tmp_path / "c", rec)
    (ex,) = load_corpus(str(tmp_path / "c")).examples
    assert ex.tests[0].expected == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("over", "field", "fix_word"),
    [
        ({"author": "me"}, "author", "use only"),
        ({"entry_point": None}, "entry_point", "add `entry_point:`"),
        ({"tests": [{"args": "1, 2"}, {"args": "[1,"}, {"args": "0, 0"}]}, "tests[1].args", "inside f(...)"),
        ({"tests": [{"args": "1, 2", "expected": "three"}, {"args": "0, 0"}, {"args": "1, 1"}]},
         "tests[0].expected", "literal"),
        ({"tests": [{"args": "1, 2"}, {"args": "0, 0"}]}, "tests", "add test cases"),
        ({"tests": [{"args": "1, 2", "result": "3"}, {"args": "0, 0"}, {"args": "1, 1"}]}, "tests[0].result",
         "use only"),
        ({"tests": [{"args": 5}, {"args": "0, 0"}, {"args": "1, 1"}]}, "tests[0].args", "quote it"),
        ({"level": 11}, "level", "1-10"),
        ({"entry_point": "missing"}, "entry_point", "top level"),
        ({"python": "def add(a, b:\n"}, "python", "correct"),
        ({"id": "Add-1"}, "id", "a-z"),
    ],
)
def test_bad_fields_are_one_line_errors_naming_file_field_and_fix(
    tmp_path: Path, over: dict[str, Any], field: str, fix_word: str
) -> None:
    rec = record(**over)
    if over.get("entry_point", "") is None:
        rec.pop("entry_point", None)
    p = write(tmp_path / "c", rec, name=rec.get("id") if str(rec.get("id", "")).islower() else "add")
    msg = error_of(tmp_path / "c")
    assert str(p) in msg and field in msg and "fix:" in msg and fix_word in msg, msg


def test_id_must_match_file_name(tmp_path: Path) -> None:
    write(tmp_path / "c", record(), name="other")
    assert "rename the file" in error_of(tmp_path / "c")


def test_malformed_yaml(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "add.yaml").write_text("id: add\npython: |\n  x\n tests: [\n", encoding="utf-8")
    msg = error_of(tmp_path / "c")
    assert "malformed YAML at line" in msg and "add.yaml" in msg


def test_raises_is_checked_and_filled(tmp_path: Path) -> None:
    py = "def inv(x: int) -> int:\n    if x == 0:\n        raise ValueError('zero')\n    return 10 // x\n"
    ok = record(id="inv", entry_point="inv", python=py,
                tests=[{"args": "0", "raises": "ValueError"}, {"args": "2", "expected": "5"}, {"args": "-3"}])
    write(tmp_path / "c", ok)
    (ex,) = load_corpus(str(tmp_path / "c")).examples
    assert ex.tests[0].raises == "ValueError" and ex.tests[2].expected == -4
    # a superclass name is accepted, a wrong class is not
    ok["tests"][0]["raises"] = "Exception"
    write(tmp_path / "c", ok)
    load_corpus(str(tmp_path / "c"))
    ok["tests"][0]["raises"] = "KeyError"
    write(tmp_path / "c", ok)
    assert "raised ValueError" in error_of(tmp_path / "c")
    ok["tests"][0] = {"args": "0", "expected": "0"}
    write(tmp_path / "c", ok)
    assert "raised ValueError" in error_of(tmp_path / "c")


def test_unstated_raise_is_recorded(tmp_path: Path) -> None:
    py = "def first(xs: list[int]) -> int:\n    return xs[0]\n"
    write(tmp_path / "c", record(id="first", entry_point="first", python=py,
                                 tests=[{"args": "[]"}, {"args": "[4]"}, {"args": "[-1, 2]"}]))
    (ex,) = load_corpus(str(tmp_path / "c")).examples
    assert ex.tests[0].raises == "IndexError" and ex.tests[1].expected == 4


def test_a_looping_example_times_out_instead_of_hanging(tmp_path: Path) -> None:
    py = "def spin(n: int) -> int:\n    while True:\n        n += 1\n"
    write(tmp_path / "c", record(id="spin", entry_point="spin", python=py,
                                 tests=[{"args": "1"}, {"args": "2"}, {"args": "3"}]))
    msg = error_of(tmp_path / "c", timeout=1)
    assert "tests[0]" in msg and "ran over 1 s" in msg


def test_non_literal_results_are_refused(tmp_path: Path) -> None:
    py = "def obj(n: int) -> object:\n    return object()\n"
    write(tmp_path / "c", record(id="obj", entry_point="obj", python=py,
                                 tests=[{"args": "1"}, {"args": "2"}, {"args": "3"}]))
    assert "not a Python literal" in error_of(tmp_path / "c")


def test_printing_examples_do_not_break_the_runner(tmp_path: Path) -> None:
    py = "print('at import')\n\ndef loud(n: int) -> int:\n    print('{' * n)\n    return n\n"
    write(tmp_path / "c", record(id="loud", entry_point="loud", python=py,
                                 tests=[{"args": "1"}, {"args": "2"}, {"args": "0"}]))
    (ex,) = load_corpus(str(tmp_path / "c")).examples
    assert [t.expected for t in ex.tests] == [1, 2, 0]


def test_second_load_uses_the_cache_and_runs_no_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "c", record())
    write(tmp_path / "c", record(id="add2", entry_point="add"))
    calls: list[int] = []
    real = loader_mod._run_batch

    def counting(raws: list[Any], timeout: int) -> dict[str, Any]:
        calls.append(len(raws))
        return real(raws, timeout)

    monkeypatch.setattr(loader_mod, "_run_batch", counting)
    first = load_corpus(str(tmp_path / "c"))
    assert calls == [2]  # both examples in ONE subprocess
    second = load_corpus(str(tmp_path / "c"))
    assert calls == [2]
    assert first.key() == second.key()
    # editing one example's Python reruns only that one
    write(tmp_path / "c", record(id="add2", entry_point="add", python=PY + "\n# edited\n"))
    load_corpus(str(tmp_path / "c"))
    assert calls == [2, 1]


def test_explicit_level_wins(tmp_path: Path) -> None:
    write(tmp_path / "c", record(level=7))
    (ex,) = load_corpus(str(tmp_path / "c")).examples
    assert ex.level == 7 and ex.level_explicit


def test_jsonl_corpus(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    recs = [record(), record(id="add_b")]
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n\n", encoding="utf-8")
    c = load_corpus(str(p))
    assert [e.id for e in c.examples] == ["add", "add_b"] and c.name == "c"
    p.write_text(json.dumps(record()) + "\n" + json.dumps(record()) + "\n", encoding="utf-8")
    assert "duplicate id" in error_of(p)
    p.write_text(json.dumps(record()) + "\n{oops\n", encoding="utf-8")
    msg = error_of(p)
    assert f"{p}:2" in msg and "malformed JSON" in msg


def test_missing_and_unknown_corpora() -> None:
    assert "corpus not found" in error_of("/nonexistent/corpus")
    msg = error_of("bundled:nope")
    assert "bundled:functions" in msg


def test_check_false_skips_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "c", record())
    monkeypatch.setattr(loader_mod, "_run_batch", lambda *a: pytest.fail("ran Python"))
    (ex,) = load_corpus(str(tmp_path / "c"), check=False).examples
    assert ex.tests[0].expected == 3


def test_explicit_store_is_used(tmp_path: Path) -> None:
    write(tmp_path / "c", record())
    with Store(tmp_path / "own") as st:
        load_corpus(str(tmp_path / "c"), store=st)
        assert len(st.keys("example_check")) == 1


def test_program_folder(tmp_path: Path) -> None:
    d = tmp_path / "progs" / "example_hi"
    d.mkdir(parents=True)
    (d / "hi.py").write_text("import sys\n\nif __name__ == '__main__':\n    print('hi')\n", encoding="utf-8")
    (d / "test_hi.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n\ndef helper():\n    pass\n")
    (d / "data.json").write_text("{}")
    c = load_corpus(str(tmp_path / "progs"))
    (ex,) = c.examples
    assert c.kind == "program" and ex.kind == "program" and ex.entry_point == "hi.py"
    assert ex.meta["test_count"] == 2 and ex.folder == str(d) and ex.tests == ()
