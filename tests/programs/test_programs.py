"""Program tasks: redirect, certification, scores, differential mode, hand-written solutions, hostile programs."""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
from pathlib import Path

import pytest
from program_helpers import (
    HOSTILE,
    WRONG,
    bundled_programs,
    echo_example,
    hostile_source,
    needs_examples,
    solution,
    wrong_variant,
)

from sse.core.sandbox import sandbox_processes
from sse.core.store import Store
from sse.scorers.api import VerifyRequest, verify_batch
from sse.scorers.rustc import find_tool
from sse.task.config import GroundTruth, Limits

try:
    find_tool("rustc")
    HAVE_RUSTC = True
except Exception:  # noqa: BLE001 - any failure means: no toolchain here
    HAVE_RUSTC = False
needs_rustc = pytest.mark.skipif(not HAVE_RUSTC, reason="rustc not installed")
GT = GroundTruth(type="program")
FAST_GT = GroundTruth(type="program", limits=Limits(test_timeout_s=3.0, compile_timeout_s=120.0))


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory):
    """Certifications go to a private store (SSE_CACHE_DIR is what program_judge's Store reads)."""
    old = os.environ.get("SSE_CACHE_DIR")
    os.environ["SSE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("SSE_CACHE_DIR", None)
    else:
        os.environ["SSE_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def programs():
    import sse.scorers.programs as programs

    return programs


def _plugin():
    path = Path(__file__).parents[2] / "sse/scorers/pytest_redirect.py"
    spec = importlib.util.spec_from_file_location("redirect_under_test", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod._CFG.update(program_names=["tool.py"], program_paths=["/suite/tool.py"], module_name="tool",
                    mode="python")
    return mod


# ------------------------------------------------------------------ redirect (no subprocess)
@pytest.mark.parametrize(("argv", "cwd", "expected"), [
    (["python3", "tool.py", "a"], "/suite", ["a"]),
    (["/usr/bin/python3.11", "/suite/tool.py", "--x", "1"], None, ["--x", "1"]),
    (["python", "-u", "-X", "utf8", "tool.py"], "/suite", []),
    (["uv", "run", "python", "/elsewhere/tool.py", "b"], None, ["b"]),
    (["uv", "run", "--with", "rich", "tool.py", "c"], "/suite", ["c"]),
    (["python3", "-m", "tool", "d"], "/suite", ["d"]),
    (["./tool.py", "e"], "/suite", ["e"]),
    (["python3", "other.py", "a"], "/suite", None),
    (["python3", "-c", "print(1)"], "/suite", None),
    (["python3", "-m", "pytest"], "/suite", None),
    (["ls", "-l"], "/suite", None),
])
def test_redirect_recognises_every_way_to_start_the_program(argv, cwd, expected) -> None:
    plug = _plugin()
    assert plug.program_args(argv, cwd) == expected


def test_redirect_exec_mode_goes_through_the_launcher() -> None:
    plug = _plugin()
    plug._CFG.update(mode="exec", launcher="/tools/launcher.py", config_path="/w/cfg.json")
    plug._STATE["test"] = "t.py::test_a"
    new = plug.rewrite(["python3", "tool.py", "x"], "/suite")
    assert new[-5:] == ["/tools/launcher.py", "/w/cfg.json", "t.py::test_a", "--", "x"]
    assert plug._STATE["counts"]["t.py::test_a"] == 1
    assert plug.rewrite(["python3", "other.py"], "/suite") is None


def test_classification_from_the_ast(programs) -> None:
    ex = echo_example()
    cats = programs.classify_suite(ex.folder, ex.meta["test_files"])
    assert cats["test_echo_tool.py::test_usage_on_bad_flag"][0] == "fidelity"
    assert cats["test_echo_tool.py::test_help_exit_code"][0] == "fidelity"
    assert cats["test_echo_tool.py::test_stdin"][0] == "core"
    assert cats["test_echo_tool.py::test_env_passed"][0] == "core"


# ------------------------------------------------------------------ certification + judging (echo)
@pytest.fixture(scope="module")
def echo_cert(programs):
    store = Store()
    try:
        yield programs.certify(echo_example(), store)
    finally:
        store.close()


def test_certification_keeps_command_tests_and_discounts_the_rest(echo_cert) -> None:
    st = {t.split("::")[-1]: d["status"] for t, d in echo_cert.tests.items()}
    assert st["test_not_a_command"] == "not_command"
    assert st["test_wrong_expectation"] == "python_fails"
    assert st["test_only_nonzero_exit"] == "non_discriminating"  # the always-failing program passes it
    assert st["test_help_exit_code"] == "non_discriminating"  # the silent program passes it
    for name in ("test_python3_relative_with_cwd", "test_sys_executable_absolute", "test_uv_run_python",
                 "test_stdin", "test_cwd_elsewhere", "test_reads_file_in_tmp_path", "test_check_output",
                 "test_shell_string", "test_dash_m", "test_direct_path", "test_env_passed"):
        assert st[name] == "kept", name
    s = echo_cert.summary()
    assert s["kept"] + s["discounted"] + s["not_command"] + s["python_fails"] == s["tests"] == 16


def test_certification_is_cached_by_content(programs, echo_cert) -> None:
    store = Store()
    try:
        again = programs.certify(echo_example(), store)
    finally:
        store.close()
    assert again.key == echo_cert.key and again.tests == echo_cert.tests


@needs_rustc
def test_echo_solution_passes_every_invocation_form_and_a_wrong_one_fails(programs, echo_cert) -> None:
    ex = echo_example()
    good = solution("echo")
    bad = good.replace("text.to_uppercase()", "text.to_lowercase()")
    # Through the verify seam (sse.scorers.verify_batch), which hands program examples to the registered judge.
    v_good, v_bad = verify_batch([VerifyRequest(ex, good, GT), VerifyRequest(ex, bad, GT)])
    assert v_good.status == "pass", v_good.diagnostics
    assert v_good.key and v_good.isolation
    assert (v_good.tests_passed, v_good.tests_total) == (12, 12)
    assert v_good.meta["core"] == {"passed": 11, "total": 11}
    assert v_good.meta["fidelity"] == {"passed": 1, "total": 1}
    assert v_good.meta["discounted"] == 2 and v_good.meta["not_command"] == 1
    assert v_bad.status == "test_failure"
    failed = [o.name for o in v_bad.tests if o.status != "pass"]
    assert failed == ["test_echo_tool.py::test_sys_executable_absolute"]
    assert v_bad.meta["core"] == {"passed": 10, "total": 11} and not v_bad.meta["core_pass"]


@needs_rustc
def test_differential_mode_compares_stdout_and_exit_code(programs) -> None:
    from sse.scorers.program import build_program

    ex = echo_example()
    argvs = [["a", "b"], ["--upper", "q"], ["--bogus"]]
    out = {}
    for name, src in (("good", solution("echo")), ("bad", solution("echo").replace("exit(2)", "exit(1)"))):
        b = build_program(src)
        try:
            assert b.ok, b.excerpt
            cmd, binds = programs._binary_command(b.binary, ex)
            out[name] = programs.differential(ex, cmd, argvs, Limits(), ro_binds=binds)
        finally:
            b.cleanup()
    assert out["good"].status == "pass" and out["good"].tests_total == 3
    assert out["good"].meta["evidence"] == "differential" and out["good"].meta["weaker_evidence"]
    assert out["bad"].status == "test_failure" and out["bad"].failing_test == "diff[--bogus]"


def test_differential_argvs_come_from_the_usage(programs) -> None:
    ex = bundled_programs()["example_abs"]
    assert programs.differential_argvs(ex) == [[], ["--help"], ["int", "--help"], ["float", "--help"]]


# ------------------------------------------------------------------ bundled corpus: solutions and hostiles
def _judge(programs, example_id: str, sources: list[str], gt: GroundTruth = GT):
    ex = bundled_programs()[example_id]
    return programs.program_judge([VerifyRequest(ex, s, gt) for s in sources])


@needs_rustc
@needs_examples
def test_one_bundled_solution_passes_and_its_wrong_variant_fails(programs) -> None:
    good, bad = _judge(programs, "example_abs", [solution("example_abs"), wrong_variant("example_abs")])
    assert good.status == "pass" and good.tests_passed == good.tests_total == 4, good.diagnostics
    assert bad.status == "test_failure" and bad.tests_passed < bad.tests_total


@needs_rustc
@needs_examples
@pytest.mark.slow
@pytest.mark.parametrize("example_id", sorted(WRONG))
def test_every_bundled_solution_passes_and_its_wrong_variant_fails(programs, example_id: str) -> None:
    good, bad = _judge(programs, example_id, [solution(example_id), wrong_variant(example_id)])
    assert good.status == "pass" and good.tests_passed == good.tests_total > 0, good.diagnostics
    assert bad.status != "pass" and bad.tests_passed < bad.tests_total


def _our_sandbox_processes() -> list[int]:
    """Sandboxed processes of program runs (other engineers' verifications may share the uid range)."""
    out = []
    for pid in sandbox_processes():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"sse-prog-" in cmd or b"abs_tool.py" in cmd:
            out.append(pid)
    return out


def _hostile_batch(programs, names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    canary = Path.home() / f".sse-canary-{os.getpid()}"
    canary.mkdir(exist_ok=True)
    (canary / "keep").write_text("still here")
    monkeypatch.setenv("SSE_TEST_SECRET", "hunter2")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                hits.append(1)
                c.close()
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        srcs = [hostile_source(n, canary=str(canary), port=srv.getsockname()[1]) for n in names]
        verdicts = _judge(programs, "example_abs", srcs, FAST_GT)
    finally:
        stop.set()
        t.join()
        srv.close()
    assert (canary / "keep").read_text() == "still here"
    assert not hits, "a sandboxed program reached the host network"
    assert _our_sandbox_processes() == [], "a sandboxed process outlived its run"
    (canary / "keep").unlink()
    canary.rmdir()
    return dict(zip(names, verdicts, strict=True))


@needs_rustc
@needs_examples
def test_hostile_programs_small(programs, tmp_path, monkeypatch) -> None:
    names = ["infinite_loop", "env_secret", "abort"]
    got = _hostile_batch(programs, names, tmp_path, monkeypatch)
    for n in names:
        assert got[n].status in HOSTILE[n][1], (n, got[n].status, got[n].diagnostics)


@needs_rustc
@needs_examples
@pytest.mark.slow
def test_hostile_programs_all(programs, tmp_path, monkeypatch) -> None:
    names = sorted(HOSTILE)
    got = _hostile_batch(programs, names, tmp_path, monkeypatch)
    for n in names:
        assert got[n].status in HOSTILE[n][1], (n, got[n].status, got[n].diagnostics)


# ------------------------------------------------------------------ commands
def test_program_certify_command_prints_the_counts(echo_cert, capsys) -> None:
    import argparse

    from sse.cli import program_commands

    parser = argparse.ArgumentParser()
    program_commands.register(parser.add_subparsers())
    args = parser.parse_args(["program-certify", "--corpus", str(Path(__file__).parent / "data")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "1 examples, 16 tests: 12 kept (11 core, 1 fidelity), 2 discounted" in out
    assert "examples left with no kept test: 0" in out


def test_program_certify_command_rejects_a_function_corpus() -> None:
    import argparse

    from sse.cli import program_commands
    from sse.core.errors import CorpusError

    parser = argparse.ArgumentParser()
    program_commands.register(parser.add_subparsers())
    args = parser.parse_args(["program-certify", "--corpus", "bundled:functions"])
    with pytest.raises(CorpusError, match="not a program corpus"):
        args.func(args)


def test_the_program_scorer_is_the_suite_judge(programs) -> None:
    from sse.scorers.registry import scorer_for

    assert scorer_for("program") is programs.program_judge


@needs_rustc
@needs_examples
@pytest.mark.slow
def test_allowed_crates_build_offline_and_forbidden_ones_do_not(programs) -> None:
    src = solution("example_abs_clap")
    with_clap = GroundTruth(type="program", crates=("clap",), limits=Limits(compile_timeout_s=600.0))
    ok, no_crates = _judge(programs, "example_abs", [src], with_clap)[0], _judge(programs, "example_abs", [src])[0]
    assert ok.status == "pass", ok.diagnostics
    assert no_crates.status == "compile_error"


@needs_examples
@pytest.mark.slow
def test_certify_the_whole_bundled_corpus(programs, capsys) -> None:
    """All 60 examples (the figures are printed by `sse program-certify --corpus bundled:programs`)."""
    exs = list(bundled_programs().values())
    store = Store()
    try:
        certs = programs.certify_many(exs, store)
    finally:
        store.close()
    assert len(certs) == 60
    for ex, c in zip(exs, certs, strict=True):
        s = c.summary()
        assert s["problem"] is None, (ex.id, s["problem"])
        assert s["kept"] + s["discounted"] + s["not_command"] + s["python_fails"] == s["tests"] >= ex.meta["test_count"]
        assert s["python_fails"] == 0, ex.id  # SOURCE.md: every test passes against the Python
        for d in c.tests.values():  # a kept test fails against both fakes and drove the program
            if d["status"] == "kept":
                assert d["invocations"] > 0 and d["fail"] != "passed" and d["silent"] != "passed"
    with capsys.disabled():
        tot = {k: sum(c.summary()[k] for c in certs) for k in ("tests", "kept", "discounted", "not_command")}
        print(f"\ncertification over {len(certs)} examples: {tot}, "
              f"no kept test: {sum(1 for c in certs if not c.kept)}")
