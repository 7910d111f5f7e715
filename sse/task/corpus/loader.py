"""Load a corpus strictly and confirm its expectations by running the Python.

Specs: "bundled:NAME", a folder of <id>.yaml, a .jsonl file, or a folder of
program examples (one subfolder per program holding a script and test_*.py).

Why run the Python: expected values typed by hand drift from the code; the
ground truth is what the Python returns. Corpus code is untrusted: it runs in
the sandbox that runs model output (sandboxed.py, worker.py). All examples of a
load run in ONE sandboxed interpreter (a fresh one per example would dominate
load time), each call under a timer and a watchdog, so a looping example is a
timeout and a hang in C code is one line naming the example. The result
of that run is cached in the store (namespace "example_check") keyed by the
content it depends on, so a repeat load does not start Python at all. Stated
expectations are compared on every load (cheap), so editing one is noticed.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash
import yaml

from sse.core.errors import CorpusError
from sse.core.records import Example, TestCase
from sse.core.store import Store, content_key, file_key
from sse.core.values import same_value  # the one equality of expected values
from sse.task.corpus.classify import classify
from sse.task.corpus.sandboxed import Failure, run_items
from sse.task.corpus.worker import WATCHDOG_GRACE_S

DATA = Path(__file__).parent / "data"
BUNDLED_PREFIX = "bundled:"
ID_RE = re.compile(r"^[a-z0-9_]+$")
FIELDS_REQUIRED = ("id", "entry_point", "python", "tests")
FIELDS_OPTIONAL = ("level", "rust")
TEST_FIELDS = ("args", "expected", "raises")
MIN_TESTS = 3
CHECK_VERSION = 2  # bump when the runner's output format changes (2: run in the sandbox)
RECORD_VERSION = 1  # bump when parsing or deriving an example changes (classify, the record fields)
CALL_TIMEOUT_S = 5

try:  # the C loader is ~10x faster; same semantics as SafeLoader
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
class Corpus:
    name: str
    path: str
    kind: str
    examples: tuple[Example, ...]

    def key(self) -> str:
        return corpus_key([e.key() for e in self.examples])


def corpus_key(example_keys: list[str]) -> str:
    """A corpus is identified by its examples' keys, in order."""
    return content_key("corpus", example_keys)


def bundled_corpus_path(name: str) -> Path:
    """Folder of a bundled corpus; KeyError(list of known names) when unknown."""
    p = DATA / name
    if not name or "/" in name or not p.is_dir():
        raise KeyError(sorted(x.name for x in DATA.iterdir() if x.is_dir()) if DATA.exists() else [])
    return p


# ---------------------------------------------------------------- raw parsing
@dataclass(frozen=True)
class _RawTest:
    args_src: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected_src: str | None
    expected: Any
    raises: str | None


@dataclass(frozen=True)
class _Raw:
    file: str  # file (and line for JSONL) used in messages
    id: str
    entry_point: str
    python: str
    tests: tuple[_RawTest, ...]
    level: int | None
    rust: str | None
    source: str  # the file the example came from (no line number)


def _literal(src: str, file: str, field: str) -> Any:
    try:
        return ast.literal_eval(src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        raise CorpusError(f"not a Python literal: {src!r} ({type(e).__name__})"[:200], file=file, field=field,
                          fix="write a Python literal such as 3, 'a', [1, 2], {'k': 1}, None") from None


def _parse_args(src: str, file: str, field: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`args` is what one writes inside f(...): parse it as a call, every part a literal."""
    try:
        call = ast.parse(f"f({src}\n)", mode="eval").body
    except SyntaxError:
        raise CorpusError(f"not a Python argument list: {src!r}"[:200], file=file, field=field,
                          fix='write the arguments as inside f(...), e.g. "[1, 2], 3"') from None
    assert isinstance(call, ast.Call)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    try:
        for a in call.args:
            if isinstance(a, ast.Starred):
                raise ValueError("starred argument")
            args.append(ast.literal_eval(a))
        for kw in call.keywords:
            if kw.arg is None:
                raise ValueError("**kwargs")
            kwargs[kw.arg] = ast.literal_eval(kw.value)
    except (ValueError, SyntaxError, TypeError, RecursionError) as e:
        raise CorpusError(f"arguments must be Python literals: {src!r} ({e})"[:200], file=file, field=field,
                          fix="use only literals (numbers, strings, lists, dicts, sets, tuples, None)") from None
    return tuple(args), kwargs


def _want_str(d: dict[str, Any], key: str, file: str, field: str, *, multiline: bool = False) -> str:
    v = d[key]
    if not isinstance(v, str):
        hint = f"{key}: |" if multiline else f'{key}: "{v}"'
        raise CorpusError(f"expected a string, got {type(v).__name__} {v!r}"[:160], file=file, field=field,
                          fix=f"quote it ({hint})")
    return v


def _parse_record(d: Any, file: str, stem: str | None, source: str) -> _Raw:
    if not isinstance(d, dict):
        raise CorpusError(f"expected a mapping, got {type(d).__name__}", file=file, field="<top>",
                          fix="write one example as `key: value` lines (id, entry_point, python, tests)")
    for k in d:
        if k not in FIELDS_REQUIRED + FIELDS_OPTIONAL:
            raise CorpusError(f"unknown field {k!r}", file=file, field=str(k),
                              fix=f"use only {', '.join(FIELDS_REQUIRED + FIELDS_OPTIONAL)}")
    for k in FIELDS_REQUIRED:
        if d.get(k) is None:
            raise CorpusError("missing required field", file=file, field=k, fix=f"add `{k}:`")
    ex_id = _want_str(d, "id", file, "id")
    if not ID_RE.match(ex_id):
        raise CorpusError(f"bad id {ex_id!r}", file=file, field="id", fix="use only a-z, 0-9 and _")
    if stem is not None and ex_id != stem:
        raise CorpusError(f"id {ex_id!r} differs from the file name {stem!r}", file=file, field="id",
                          fix=f"rename the file to {ex_id}.yaml or set id: {stem}")
    entry = _want_str(d, "entry_point", file, "entry_point")
    python = _want_str(d, "python", file, "python", multiline=True)
    try:
        tree = ast.parse(python)
    except SyntaxError as e:
        raise CorpusError(f"Python does not parse: {e.msg} at line {e.lineno}", file=file, field="python",
                          fix="correct the Python source") from None
    if not any(isinstance(n, ast.FunctionDef) and n.name == entry for n in tree.body):
        raise CorpusError(f"no top-level function {entry!r} in the Python", file=file, field="entry_point",
                          fix="name a function defined at the top level of `python`")
    level: int | None = None
    if d.get("level") is not None:
        lv = d["level"]
        if isinstance(lv, bool) or not isinstance(lv, int) or not 1 <= lv <= 10:
            raise CorpusError(f"level must be an integer 1-10, got {lv!r}", file=file, field="level",
                              fix="give a Py2Rs level 1-10 or remove `level:` to classify from the AST")
        level = lv
    rust: str | None = None
    if d.get("rust") is not None:
        rust = _want_str(d, "rust", file, "rust", multiline=True)
    tests_raw = d["tests"]
    if not isinstance(tests_raw, list):
        raise CorpusError(f"expected a list, got {type(tests_raw).__name__}", file=file, field="tests",
                          fix="write tests as a list of `- args: \"...\"` items")
    if len(tests_raw) < MIN_TESTS:
        raise CorpusError(f"{len(tests_raw)} test(s), at least {MIN_TESTS} required", file=file, field="tests",
                          fix="add test cases that discriminate (edge cases: empty, zero, negative)")
    tests: list[_RawTest] = []
    for i, t in enumerate(tests_raw):
        f = f"tests[{i}]"
        if not isinstance(t, dict):
            raise CorpusError(f"expected a mapping, got {type(t).__name__}", file=file, field=f,
                              fix='write `- args: "..."`')
        for k in t:
            if k not in TEST_FIELDS:
                raise CorpusError(f"unknown field {k!r}", file=file, field=f"{f}.{k}",
                                  fix=f"use only {', '.join(TEST_FIELDS)}")
        if t.get("args") is None:
            raise CorpusError("missing required field", file=file, field=f"{f}.args",
                              fix='add `args: "..."` (use "" for a call without arguments)')
        args_src = _want_str(t, "args", file, f"{f}.args")
        args, kwargs = _parse_args(args_src, file, f"{f}.args")
        exp_src: str | None = None
        expected: Any = None
        if "expected" in t:
            if t["expected"] is None:
                raise CorpusError("empty expected (YAML null)", file=file, field=f"{f}.expected",
                                  fix='write expected: "None" for a None result, or remove the line')
            exp_src = _want_str(t, "expected", file, f"{f}.expected")
            expected = _literal(exp_src, file, f"{f}.expected")
        raises: str | None = None
        if t.get("raises") is not None:
            raises = _want_str(t, "raises", file, f"{f}.raises")
            if not raises.isidentifier():
                raise CorpusError(f"bad exception name {raises!r}", file=file, field=f"{f}.raises",
                                  fix="name an exception class, e.g. ValueError")
            if exp_src is not None:
                raise CorpusError("both expected and raises", file=file, field=f,
                                  fix="keep one: a call either returns or raises")
        tests.append(_RawTest(args_src, args, kwargs, exp_src, expected, raises))
    return _Raw(file, ex_id, entry, python, tuple(tests), level, rust, source)


@dataclass(frozen=True)
class Record:
    """One example's source before it is parsed: `digest` covers everything its derived example
    depends on (its text, where it lives, the loader's versions), so a caller that kept the
    example derived from an equal digest may reuse it instead of parsing and confirming again."""

    digest: str
    file: str  # where its errors point
    parse: Callable[[], _Raw]


def _record_digest(source: str, stem: str | None, blob: bytes) -> str:
    """A plain digest, not content_key: it runs once per record on every load of the corpus."""
    head = f"corpus-record\0{RECORD_VERSION}\0{CHECK_VERSION}\0{sys.version_info[:2]}\0{source}\0{stem}\0"
    return xxhash.xxh3_128_hexdigest(head.encode() + blob)


def _yaml_record(p: Path, blob: bytes) -> _Raw:
    try:
        data = yaml.load(blob.decode("utf-8"), Loader=_YamlLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise CorpusError(f"malformed YAML at {where}: {problem}", file=str(p), field="<yaml>",
                          fix="correct the YAML syntax (indentation, quotes, colons)") from None
    except UnicodeDecodeError:
        raise CorpusError("not UTF-8 text", file=str(p), field="<file>", fix="save it as UTF-8") from None
    return _parse_record(data, str(p), p.stem, str(p))


def _yaml_records(folder: Path) -> list[Record]:
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise CorpusError("no <id>.yaml files in the folder", file=str(folder), fix="add examples or fix the path")
    out = []
    for p in files:
        blob = p.read_bytes()
        out.append(Record(_record_digest(str(p), p.stem, blob), str(p), functools.partial(_yaml_record, p, blob)))
    return out


def _jsonl_record(path: Path, n: int, line: str) -> _Raw:
    where = f"{path}:{n}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise CorpusError(f"malformed JSON: {e.msg} at column {e.colno}", file=where, field="<json>",
                          fix="write one JSON object per line") from None
    return _parse_record(data, where, None, str(path))


def _jsonl_records(path: Path) -> list[Record]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CorpusError("not UTF-8 text", file=str(path), field="<file>", fix="save it as UTF-8") from None
    out = [Record(_record_digest(str(path), None, line.encode()), f"{path}:{n}",
                  functools.partial(_jsonl_record, path, n, line))
           for n, line in enumerate(lines, 1) if line.strip()]
    if not out:
        raise CorpusError("no examples in the file", file=str(path), fix="add one JSON object per line")
    return out


# ---------------------------------------------------------------- running the Python
def _check_key(r: _Raw) -> str:
    return content_key("example_check", CHECK_VERSION, sys.version_info[:2], r.python, r.entry_point,
                       [t.args_src for t in r.tests])


def _run_batch(raws: list[_Raw], timeout: int) -> dict[str, Any]:
    """Run every (uncached) example in one sandboxed interpreter (a fresh one after an example
    that kills or hangs it); returns id -> {"tests": [...]} | {"error": ...} | Failure."""
    jobs = [{"id": r.id, "python": r.python, "entry_point": r.entry_point,
             "tests": [t.args_src for t in r.tests]} for r in raws]
    budgets = [(timeout + WATCHDOG_GRACE_S) * (len(r.tests) + 1) for r in raws]
    results = run_items("confirm", jobs, timeout, budgets)
    return {r.id: res for r, res in zip(raws, results, strict=True)}


def _confirm(raws: list[_Raw], store: Store | None, timeout: int) -> list[list[dict[str, Any]]]:
    keys = [_check_key(r) for r in raws]
    cached: dict[str, Any] = store.get_many("example_check", keys) if store is not None else {}
    todo = [r for r, k in zip(raws, keys, strict=True) if k not in cached]
    if todo:
        fresh = _run_batch(todo, timeout)
        first_error: CorpusError | None = None
        for r in todo:  # store every confirmed example before reporting the first bad one
            res = fresh.get(r.id)
            err: CorpusError | None = None
            if isinstance(res, Failure):
                field = "python" if res.call is None else f"tests[{res.call}]"
                call = "" if res.call is None else f"the call f({r.tests[res.call].args_src}) "
                err = CorpusError(f"{call}{res.reason}"[:300], file=r.file, field=field,
                                  fix="corpus functions must return a value in-process, quickly; "
                                      "remove the fork, exit or endless loop")
            elif not isinstance(res, dict) or not ("tests" in res or "error" in res):
                err = CorpusError("the Python runner returned nothing for this example", file=r.file,
                                  field="python", fix="report this as a bug in sse")
            elif "error" in res:
                err = CorpusError(str(res["error"]), file=r.file, field="python",
                                  fix="the module must import and define the entry point without errors")
            if err is not None:
                first_error = first_error or err
                continue
            k = _check_key(r)
            cached[k] = res["tests"]
            # a timeout is not cached: the machine may just have been busy
            if store is not None and not any("timeout" in o for o in res["tests"]):
                store.put("example_check", k, res["tests"])
        if first_error is not None:
            raise first_error
    return [cached[k] for k in keys]


def _build(r: _Raw, outcomes: list[dict[str, Any]]) -> Example:
    tests: list[TestCase] = []
    for i, (t, o) in enumerate(zip(r.tests, outcomes, strict=True)):
        field = f"tests[{i}]"
        if "timeout" in o:
            raise CorpusError(f"the call f({t.args_src}) ran over {o['timeout']:g} s", file=r.file, field=field,
                              fix="make the example terminate quickly on this input")
        if "not_literal" in o:
            raise CorpusError(f"the result is not a Python literal: {o['not_literal']}", file=r.file,
                              field=field, fix="return ints, floats, strs, bools, None, lists, tuples, dicts, sets")
        if "raises" in o:
            if t.expected_src is not None:
                raise CorpusError(f"stated expected {t.expected_src} but the Python raised {o['raises']}: "
                                  f"{o['message']}"[:240], file=r.file, field=f"{field}.expected",
                                  fix=f"write raises: {o['raises']} or correct the args")
            if t.raises is not None and t.raises not in o["mro"]:
                raise CorpusError(f"stated raises {t.raises} but the Python raised {o['raises']}",
                                  file=r.file, field=f"{field}.raises", fix=f"write raises: {o['raises']}")
            tests.append(TestCase(args=t.args, raises=t.raises or o["raises"], kwargs=t.kwargs))
            continue
        value = ast.literal_eval(o["value"])
        if t.raises is not None:
            raise CorpusError(f"stated raises {t.raises} but the Python returned {o['value']}"[:240],
                              file=r.file, field=f"{field}.raises", fix=f'write expected: "{o["value"]}"'[:120])
        if t.expected_src is not None and not same_value(t.expected, value):
            raise CorpusError(f"stated expected {t.expected_src} but the Python computes {o['value']}"[:240],
                              file=r.file, field=f"{field}.expected", fix=f'write expected: "{o["value"]}"'[:120])
        tests.append(TestCase(args=t.args, expected=value, kwargs=t.kwargs))
    if r.level is not None:
        level, explicit = r.level, True
    else:
        level, explicit = classify(r.python).level, False
    return Example(id=r.id, python=r.python, entry_point=r.entry_point, kind="function", tests=tuple(tests),
                   level=level, level_explicit=explicit, rust_reference=r.rust, source_path=r.source)


def check_unique_ids(ids: Iterable[tuple[str, str]]) -> None:
    """Every (id, file) pair names a different id; else one line naming both files."""
    seen: dict[str, str] = {}
    for ex_id, file in ids:
        if ex_id in seen:
            raise CorpusError(f"duplicate id {ex_id!r} (also in {seen[ex_id]})", file=file, field="id",
                              fix="give every example a unique id")
        seen[ex_id] = file


def _function_corpus(raws: list[_Raw], store: Store | None, timeout: int,
                     unique: bool = True) -> tuple[Example, ...]:
    if unique:
        check_unique_ids((r.id, r.file) for r in raws)
    outcomes = _confirm(raws, store, timeout)
    return tuple(_build(r, o) for r, o in zip(raws, outcomes, strict=True))


# ---------------------------------------------------------------- program corpora
def _is_program_folder(folder: Path) -> bool:
    return any(sub.is_dir() and any(sub.glob("test_*.py")) for sub in folder.iterdir())


def _folder_key(folder: Path) -> str:
    """Content key of every file of a program example (suite, data, program): part of Example.key(),
    so an edited test or data file invalidates that example's verdicts and nothing else."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return content_key("program-folder", [(str(p.relative_to(folder)), file_key(p)) for p in files])


def _invoked_script(scripts: list[Path], tests: list[Path]) -> Path | None:
    """The program the suites run as a command: the script named most often in the tests' string
    literals (a suite may also import a helper module), else test_<name>.py's <name>.py."""
    literals: list[str] = []
    for t in tests:
        try:
            tree = ast.parse(t.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        literals += [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    named = {p: sum(p.name in lit for lit in literals) for p in scripts}
    if named and max(named.values()) > 0:
        return max(scripts, key=lambda p: named[p])
    tested = {t.name[len("test_"):] for t in tests}
    return next((p for p in scripts if p.name in tested), scripts[0] if len(scripts) == 1 else None)


def _program_examples(folder: Path) -> tuple[Example, ...]:
    out: list[Example] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        tests = sorted(sub.glob("test_*.py"))
        if not tests:
            continue
        scripts = sorted(p for p in sub.glob("*.py") if not p.name.startswith("test_"))
        script = _invoked_script(scripts, tests)
        if script is None:
            raise CorpusError(f"cannot tell which of {len(scripts)} .py files is the program", file=str(sub),
                              field="<folder>", fix="name the suite test_<program>.py or keep one program .py")
        source = script.read_text(encoding="utf-8")
        n_tests = 0
        for t in tests:
            try:
                tree = ast.parse(t.read_text(encoding="utf-8"))
            except SyntaxError as e:
                raise CorpusError(f"test file does not parse: {e.msg} at line {e.lineno}", file=str(t),
                                  field="<python>", fix="correct the test file") from None
            n_tests += sum(1 for n in ast.walk(tree)
                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test"))
        try:
            level = classify(source).level
        except SyntaxError as e:
            raise CorpusError(f"program does not parse: {e.msg} at line {e.lineno}", file=str(script),
                              field="<python>", fix="correct the program") from None
        ex_id = re.sub(r"[^a-z0-9_]", "_", sub.name.lower())
        out.append(Example(id=ex_id, python=source, entry_point=script.name, kind="program", tests=(),
                           level=level, level_explicit=False, source_path=str(script), folder=str(sub),
                           meta={"test_count": n_tests, "test_files": [t.name for t in tests],
                                 "files_key": _folder_key(sub)}))
    if not out:
        raise CorpusError("no program folders (a subfolder with test_*.py)", file=str(folder),
                          fix="point at a folder of program examples")
    return tuple(out)


# ---------------------------------------------------------------- entry point
def corpus_location(spec: str) -> tuple[str, Path]:
    """(name, path) of a corpus spec; one line when there is no such corpus."""
    if spec.startswith(BUNDLED_PREFIX):
        name = spec[len(BUNDLED_PREFIX):]
        try:
            path = bundled_corpus_path(name)
        except KeyError as e:
            raise CorpusError(f"no bundled corpus {name!r}", file=spec, field="corpus",
                              fix=f"use one of: {', '.join('bundled:' + n for n in e.args[0]) or '(none)'}") from None
    else:
        path = Path(spec)
        name = path.stem if path.is_file() else path.name
    if not path.exists():
        raise CorpusError("corpus not found", file=str(path), field="corpus",
                          fix="give bundled:NAME, a folder of <id>.yaml, a .jsonl file, or a folder of programs")
    return name, path


def corpus_records(spec: str) -> list[Record] | None:
    """The records of a function corpus, unparsed (None for a program corpus: it is loaded whole)."""
    _, path = corpus_location(spec)
    if path.is_file():
        if path.suffix != ".jsonl":
            raise CorpusError(f"unsupported corpus file type {path.suffix or '(none)'}", file=str(path),
                              field="corpus", fix="use a .jsonl file or a folder of <id>.yaml")
        return _jsonl_records(path)
    if not any(path.glob("*.yaml")) and not any(path.glob("*.yml")) and _is_program_folder(path):
        return None
    return _yaml_records(path)


def derive_examples(records: list[Record], store: Store | None, timeout: int = CALL_TIMEOUT_S) -> list[Example]:
    """Parse and confirm some records of a corpus (ids are checked against each other only: a
    caller holding the rest checks the whole with check_unique_ids)."""
    return list(_function_corpus([r.parse() for r in records], store, timeout, unique=False))


def load_corpus(spec: str, *, store: Store | None = None, check: bool = True,
                timeout: int = CALL_TIMEOUT_S) -> Corpus:
    """Load and validate a corpus.

    `store`: where confirmations are cached (default: the project Store under
    $SSE_CACHE_DIR). `check=False` skips running the Python (tests then carry
    only their stated expectations; used by tools that only count).
    """
    name, path = corpus_location(spec)
    records = corpus_records(spec)
    if records is None:
        return Corpus(name=name, path=str(path), kind="program", examples=_program_examples(path))
    raws = [r.parse() for r in records]
    if check:
        own = store is None
        st = store if store is not None else Store()
        try:
            examples = _function_corpus(raws, st, timeout)
        finally:
            if own:
                st.close()
    else:
        examples = tuple(_unchecked(r) for r in raws)
    return Corpus(name=name, path=str(path), kind="function", examples=examples)


def _unchecked(r: _Raw) -> Example:
    tests = tuple(TestCase(args=t.args, expected=t.expected, raises=t.raises, kwargs=t.kwargs) for t in r.tests)
    level = r.level if r.level is not None else classify(r.python).level
    return Example(id=r.id, python=r.python, entry_point=r.entry_point, tests=tests, level=level,
                   level_explicit=r.level is not None, rust_reference=r.rust, source_path=r.source)

