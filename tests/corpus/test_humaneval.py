"""The HumanEval importer: type inference, check() forms, faithful-or-left-out, the bundled corpus."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

from sse.core.errors import CorpusError
from sse.task.corpus import humaneval as he

REPO = Path(__file__).resolve().parents[2]
WHEEL = REPO / "tests" / "data" / "humaneval_source" / he.WHEEL_NAME
BUNDLED = he.DEFAULT_OUTPUT


# ---------------------------------------------------------------- types
def test_join_numeric_and_optional() -> None:
    assert he.join(("int",), ("float",)) == ("float",)
    assert he.join(("none",), ("int",)) == ("opt", ("int",))
    assert he.join(("list", he.UNK), ("list", ("str",))) == ("list", ("str",))
    assert he.join(("tuple", (("str",),)), ("tuple", (("str",), ("str",)))) == ("vtuple", ("str",))


def test_join_rejects_mixed_types() -> None:
    with pytest.raises(he.Untranslatable, match="str and int"):
        he.join(("str",), ("int",))
    with pytest.raises(he.Untranslatable):
        he.join(("bool",), ("int",))  # Python's True == 1 is not Rust's


def test_value_and_annotation_types() -> None:
    assert he.value_type([(0, 1), (2, 3)]) == ("list", ("tuple", (("int",), ("int",))))
    assert he.value_type({"a": [None, 1.5]}) == ("dict", ("str",), ("list", ("opt", ("float",))))
    ann = ast.parse("Optional[List[Tuple[int, str]]]", mode="eval").body
    assert he.render(he.annotation_type(ann)) == "list[tuple[int, str]] | None"
    assert he.annotation_type(ast.parse("list", mode="eval").body) == ("list", he.UNK)
    with pytest.raises(he.Untranslatable):
        he.value_type(float("nan"))


def test_coerce_ints_to_floats_and_empty_list_to_str() -> None:
    done: set[str] = set()
    assert he.coerce([1, 2.5], ("list", ("float",)), done) == [1.0, 2.5]
    assert he.coerce([], ("str",), done) == ""
    assert done == {"float", "str"}


# ---------------------------------------------------------------- check() forms
def test_check_forms() -> None:
    src = (
        "def check(candidate):\n"
        "    assert candidate(1) == 2\n"
        "    assert not candidate(3)\n"
        "    assert abs(candidate(1.5) - 0.5) < 1e-6\n"
        "    assert candidate(4) is True, str(candidate(4))\n"
        "    assert tuple(candidate([1])) == (1,)\n"
    )
    assert he.check_forms(src) == {"eq", "not", "tolerance", "is", "eq_tuple"}
    prop = "import random\ndef check(candidate):\n    for _ in range(3):\n        x = candidate(random.random())\n        assert x > 0\n"
    assert he.check_forms(prop) == {"loop", "random", "property"}
    with pytest.raises(he.Untranslatable):
        he.check_forms("def test(c):\n    pass\n")


# ---------------------------------------------------------------- translate (synthetic problems)
def _problem(n: int, prompt: str, solution: str, test: str, entry: str) -> dict[str, str]:
    return {"task_id": f"HumanEval/{n}", "prompt": prompt, "canonical_solution": solution,
            "test": test, "entry_point": entry}


SYNTHETIC = [
    # bare list: types inferred; loop-generated calls recorded
    _problem(0, "def double(xs: list):\n    \"\"\"Double every element.\"\"\"\n", "    return [2 * x for x in xs]\n",
             "def check(candidate):\n    assert candidate([1]) == [2]\n"
             "    for i in range(3):\n        assert candidate(list(range(i))) == [2 * j for j in range(i)]\n",
             "double"),
    # int vs float matters: left out
    _problem(1, "def is_int(x):\n    pass\n", "    return isinstance(x, int)\n",
             "def check(candidate):\n    assert candidate(1) is True\n    assert candidate(2.0) is False\n"
             "    assert candidate(3) is True\n",
             "is_int"),
    # str-or-int return: left out
    _problem(2, "def f(x: int):\n    pass\n", "    return 'neg' if x < 0 else x\n",
             "def check(candidate):\n    assert candidate(-1) == 'neg'\n    assert candidate(1) == 1\n"
             "    assert candidate(2) == 2\n",
             "f"),
    # canonical fails its own check: left out
    _problem(3, "def g(x: int) -> int:\n    pass\n", "    return x\n",
             "def check(candidate):\n    assert candidate(1) == 2\n", "g"),
    # helper + random + property check; only 2 distinct calls in check -> docstring supplements
    _problem(4, "def enc(s: str) -> str:\n    return s[::-1]\n\n\ndef dec(s: str):\n"
                "    \"\"\"Inverse of enc.\n    >>> dec('cba')\n    'abc'\n    \"\"\"\n",
             "    return enc(s)\n",
             "import random\ndef check(candidate):\n    for _ in range(2):\n"
             "        s = random.choice(['ab', 'xyz'])\n        assert candidate(enc(s)) == s\n"
             "    assert candidate('ba') == 'ab'\n",
             "dec"),
]


@pytest.fixture(scope="module")
def synthetic() -> dict[str, he.Outcome]:
    return {o.task_id: o for o in he.translate(SYNTHETIC, timeout=20)}


def test_bare_list_inferred_and_loop_recorded(synthetic: dict[str, he.Outcome]) -> None:
    o = synthetic["HumanEval/0"]
    assert o.reason is None and o.example is not None
    assert o.id == "he_000_double"
    assert "def double(xs: list[int]) -> list[int]:" in o.example["python"]
    assert [t["args"] for t in o.example["tests"]] == ["[1]", "[]", "[0]", "[0, 1]"]
    assert o.example["tests"][3]["expected"] == "[0, 2]"
    assert o.inferred == {"xs": "list[int]", "return": "list[int]"}
    assert any("loop" in n for n in o.notes)


def test_untranslatable_problems_are_left_out_with_reasons(synthetic: dict[str, he.Outcome]) -> None:
    assert synthetic["HumanEval/1"].example is None
    assert "tells int from float" in (synthetic["HumanEval/1"].reason or "")
    assert "return" in (synthetic["HumanEval/2"].reason or "")
    assert "fails its own check" in (synthetic["HumanEval/3"].reason or "")


def test_helpers_random_property_and_docstring_supplement(synthetic: dict[str, he.Outcome]) -> None:
    o = synthetic["HumanEval/4"]
    assert o.example is not None, o.reason
    assert "def enc(s: str) -> str:" in o.example["python"]  # the helper is shown too
    args = [t["args"] for t in o.example["tests"]]
    assert "'cba'" in args  # from the docstring
    notes = " ".join(o.notes)
    assert "docstring" in notes and "random" in notes and "helper functions shown" in notes


def test_random_cases_are_reproducible() -> None:
    a = he.translate([SYNTHETIC[4]], timeout=20)[0].example
    b = he.translate([SYNTHETIC[4]], timeout=20)[0].example
    assert a == b


# ---------------------------------------------------------------- source files
def test_read_source_rejects_a_wheel_with_the_wrong_hash(tmp_path: Path) -> None:
    fake = tmp_path / he.WHEEL_NAME
    fake.write_bytes(b"not the wheel")
    with pytest.raises(CorpusError, match="sha256"):
        he.read_source(fake)


def test_read_source_jsonl_and_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "p.jsonl"
    good.write_text(json.dumps(SYNTHETIC[0]) + "\n")
    src = he.read_source(good)
    assert len(src.problems) == 1 and not src.pinned
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "x"}\n')
    with pytest.raises(CorpusError, match="lacks"):
        he.read_source(bad)


# ---------------------------------------------------------------- the bundled corpus
def test_bundled_corpus_counts_and_provenance() -> None:
    prov = json.loads((BUNDLED / "PROVENANCE.json").read_text())
    yamls = sorted(p.stem for p in BUNDLED.glob("he_*.yaml"))
    assert prov["total"] == he.N_PROBLEMS
    assert prov["translated"] == len(yamls) == len(prov["problems"])
    assert prov["translated"] + len(prov["left_out"]) == he.N_PROBLEMS
    assert prov["translated"] >= he.MULTIPLE_E_RUST_KEPT
    assert all(x["reason"] for x in prov["left_out"])
    assert sorted(p["id"] for p in prov["problems"]) == yamls
    assert prov["source"]["pinned"] is True
    assert "MIT" in (BUNDLED / "LICENSE").read_text()


def test_bundled_corpus_loads_confirms_and_has_signatures() -> None:
    """The loader re-runs every test against the Python and compares the stated expected;
    the ground truth must give every example a signature and a test module."""
    from sse.task.corpus import load_corpus
    from sse.task.translate import rust_signature, test_code

    corpus = load_corpus("bundled:humaneval")
    assert len(corpus.examples) >= he.MULTIPLE_E_RUST_KEPT
    for ex in corpus.examples:
        assert rust_signature(ex).startswith("pub fn ")
        assert test_code(ex).count("r.case(") == len(ex.tests)


def test_cli_reimport_reproduces_the_bundled_corpus(tmp_path: Path) -> None:
    """Importing the pinned wheel again gives the bundled files byte for byte."""
    from sse.cli.import_commands import register

    if not WHEEL.exists():
        pytest.skip("the pinned wheel is not in tests/data")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "he"
    out.mkdir()
    (out / "he_999_stale.yaml").write_text("stale")
    args = parser.parse_args(["corpus", "import", "humaneval", "--source", str(WHEEL), "--output", str(out)])
    assert args.func(args) == 0
    assert not (out / "he_999_stale.yaml").exists()
    names = sorted(p.name for p in BUNDLED.iterdir() if p.name != "_plus")  # plus tests are derived later (docs/evidence.md)
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        assert (out / name).read_bytes() == (BUNDLED / name).read_bytes(), name


def test_reimport_to_a_file_path_is_an_error(tmp_path: Path) -> None:
    from sse.cli.import_commands import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    f = tmp_path / "file"
    f.write_text("x")
    args = parser.parse_args(["corpus", "import", "humaneval", "--source", str(WHEEL), "--output", str(f)])
    with pytest.raises(CorpusError, match="--output"):
        args.func(args)


@pytest.mark.network
def test_download_is_pinned(tmp_path: Path) -> None:
    wheel = he.download_wheel(tmp_path)
    assert he.read_source(wheel).pinned


def test_wheel_fixture_is_the_pinned_one() -> None:
    if not WHEEL.exists():
        pytest.skip("the pinned wheel is not in tests/data")
    src = he.read_source(WHEEL)
    assert src.pinned and len(src.problems) == he.N_PROBLEMS
