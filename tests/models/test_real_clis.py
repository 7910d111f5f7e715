"""The CLI adapters against the real tools (Claude Code, Gemini CLI, llm + llm-echo).

Each test skips, saying why, when its tool is not on PATH; `.ci/run` installs them into a
scratch folder so CI runs them. No credentials are used or looked for: every test gives the
tool an empty HOME and removes the key variables, so "not logged in" is guaranteed, and an
HTTPS proxy on a closed loopback port stands for "no network" whatever the machine has.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sse.core.records import Example
from sse.systems.clis import ClaudeCodeAdapter, GeminiCliAdapter, LlmCliAdapter
from sse.task.spec import Decoding, Prompt, SystemSpec

KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CONFIG_DIR",
        "ANTHROPIC_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_GCA", "GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS", "OPENAI_API_KEY",
        "LLM_USER_PATH", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
        "NO_PROXY", "no_proxy", "SSE_MAX_COST", "SSE_BUDGET_LEDGER")
SYSTEM = "You translate Python functions to idiomatic Rust. Answer with one rust code block."


def need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed here (.ci/run installs it; see docs/baselines.md)")
    return exe


@pytest.fixture()
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME and no credentials of any provider: the tools cannot be logged in."""
    real = Path.home()
    for var, sub in (("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")):  # rustup finds its toolchain
        if not os.environ.get(var) and (real / sub).is_dir():
            monkeypatch.setenv(var, str(real / sub))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for k in KEYS:
        monkeypatch.delenv(k, raising=False)
    return home


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prompt(i: int, run: int = 0, timeout_s: float = 60.0) -> Prompt:
    ex = Example(id=f"ex{i}", python=f"def f{i}(x: int) -> int:\n    return x + {i}\n", entry_point=f"f{i}")
    return Prompt(system=SYSTEM, user=f"Translate this Python to Rust:\n{ex.python}", example=ex, run=run,
                  decoding=Decoding(timeout_s=timeout_s))


# ------------------------------------------------------------ not logged in
def test_claude_not_logged_in_is_skipped_quickly(clean_env: Path) -> None:
    need("claude")
    a = ClaudeCodeAdapter(SystemSpec(name="claude", kind="claude", options={"concurrency": 1}))
    assert a.unavailable_reason() is None  # installed, `--version` works: only a call can tell
    t0 = time.monotonic()
    out = a.generate([prompt(i) for i in range(3)])
    assert time.monotonic() - t0 < 60
    assert [c.error_kind for c in out] == ["skipped"] * 3
    reason = a.unavailable_reason() or ""
    assert reason.startswith("cannot authenticate: claude:") and "Not logged in" in reason


def test_gemini_not_logged_in_is_skipped_quickly(clean_env: Path) -> None:
    need("gemini")
    a = GeminiCliAdapter(SystemSpec(name="gemini", kind="gemini", options={"concurrency": 1}))
    out = a.generate([prompt(i) for i in range(3)])
    assert [c.error_kind for c in out] == ["skipped"] * 3
    reason = a.unavailable_reason() or ""
    assert reason.startswith("cannot authenticate: gemini:") and "Auth method" in reason and "{" not in reason


@pytest.mark.parametrize("tool", ["gemini", "claude"])
def test_dummy_key_without_network_is_infrastructure(clean_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                    tool: str) -> None:
    """A key but no route: both tools retry silently until killed. That is the service not being
    reached (an HTTPS proxy on a closed port makes it so on any machine), not the model failing."""
    need(tool)
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GEMINI_API_KEY" if tool == "gemini" else "ANTHROPIC_API_KEY", "dummy-key-for-tests")
    cls = GeminiCliAdapter if tool == "gemini" else ClaudeCodeAdapter
    a = cls(SystemSpec(name=tool, kind=tool, options={"concurrency": 1, "timeout_s": 12, "backoff_s": 0.1}))
    t0 = time.monotonic()
    out = a.generate([prompt(i) for i in range(4)])
    assert time.monotonic() - t0 < 60  # one timeout, then connect probes
    assert all(c.error_kind == "skipped" for c in out)  # never "timeout": not the model's failure
    assert out[0].meta.get("failure") == "unreachable"
    reason = a.unavailable_reason() or ""
    assert reason.startswith("infrastructure: the first 3 calls all failed the same way") and str(port) in reason


# --------------------------------------------------------------- llm + echo
def _llm(*args: str, stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["llm", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_llm_echo_answers_and_tokens_match_llm_itself(clean_env: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    need("llm")
    logs = tmp_path / "llm-user"
    env = {**os.environ, "LLM_USER_PATH": str(logs)}
    if "echo" not in _llm("models", "list", stdin="", env=env).stdout:
        pytest.skip("the llm-echo plugin is not installed (pip install llm-echo)")
    monkeypatch.setenv("LLM_USER_PATH", str(logs))
    a = LlmCliAdapter(SystemSpec(name="echo", kind="llm", options={"model": "echo", "local": True,
                                                                   "concurrency": 2}))
    prompts = [prompt(i, run=i % 2) for i in range(3)]
    out = a.generate(prompts)
    # --no-log: parallel calls never write the shared log (llm itself may create the empty file)
    assert json.loads(_llm("logs", "--json", "-n", "0", stdin="", env=env).stdout or "[]") == []
    for p, c in zip(prompts, out, strict=True):
        assert c.error is None, c.error
        # the same prompt through llm itself, logged this time: text, -u line and the log agree
        ref = _llm("prompt", "-m", "echo", "--no-stream", "-s", p.system, "-u", stdin=p.user, env=env)
        assert ref.returncode == 0, ref.stderr
        assert c.text == ref.stdout.rstrip("\n")
        assert json.loads(c.text)["system"] == SYSTEM and json.loads(c.text)["prompt"] == p.user
        usage = [ln for ln in ref.stderr.splitlines() if ln.startswith("Token usage:")][-1]
        assert usage == f"Token usage: {c.tokens_in} input, {c.tokens_out} output"
        [row] = json.loads(_llm("logs", "--json", "-n", "1", stdin="", env=env).stdout)
        assert (row["input_tokens"], row["output_tokens"]) == (c.tokens_in, c.tokens_out)
        assert row["response"] == c.text and row["model"] == "echo"
        assert c.cpu_s is not None and c.cpu_s > 0 and c.meta["priced_by"] == "machine_time"
    assert a.version() and a.version().startswith("llm, version")


def test_llm_echo_refuses_temperature_once(clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("llm")
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm-user"))
    a = LlmCliAdapter(SystemSpec(name="echo", kind="llm", options={
        "model": "echo", "local": True, "concurrency": 1, "model_options": {"temperature": 0}}))
    out = a.generate([prompt(i) for i in range(4)])
    if "Unknown model" in (out[0].error or ""):
        pytest.skip("the llm-echo plugin is not installed (pip install llm-echo)")
    assert [c.error_kind for c in out] == ["skipped"] * 4
    assert (a.unavailable_reason() or "").startswith("configuration error: llm:")
    assert "Extra inputs are not permitted" in (a.unavailable_reason() or "")


# ------------------------------------------------- a whole evaluation
ANSWER = textwrap.dedent("""\
    import json, sys
    req = json.load(sys.stdin)
    print("```rust\\npub fn add(a: i64, b: i64) -> i64 { a + b }\\n```")
    """)


@pytest.mark.slow
def test_evaluate_skips_unauthenticated_clis_beside_a_working_system(
        clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`sse evaluate` with real Claude Code and Gemini CLI (not logged in) and a working local
    command: exit 0, both skipped with their reason in results.json, report.md, report.html and
    on stderr; the working system's results are there."""
    need("claude")
    need("gemini")
    from sse.cli.main import main

    proj = tmp_path / "proj"
    (proj / "tasks").mkdir(parents=True)
    (proj / "scripts").mkdir()
    (proj / "scripts" / "answer.py").write_text(ANSWER)
    (proj / "corpus.jsonl").write_text(json.dumps({
        "id": "add", "entry_point": "add", "python": "def add(a: int, b: int) -> int:\n    return a + b\n",
        "tests": [{"args": "1, 2"}, {"args": "-5, 5"}, {"args": "0, 0"}]}) + "\n")
    (proj / "tasks" / "models.yaml").write_text(textwrap.dedent("""\
        systems:
          local-answer: {kind: command, options: {argv: [python3, ../scripts/answer.py], stdin: json,
                                                  deterministic: true}}
          claude: {kind: claude, options: {concurrency: 1, timeout_s: 60}}
          gemini: {kind: gemini, options: {concurrency: 1, timeout_s: 60}}
        """))
    (proj / "tasks" / "t.yaml").write_text(textwrap.dedent("""\
        task: {id: tiny, corpus: ../corpus.jsonl}
        evaluation: {runs: 1, systems: [local-answer, claude, gemini], machine_price_per_hour: 0.1}
        prompts:
          system: "Translate."
          user_template: "{python_code}\\n{rust_signature}"
        ground_truth: {type: compiler}
        analysis: {bootstrap_resamples: 200}
        """))
    monkeypatch.chdir(proj)
    monkeypatch.setenv("SSE_CACHE_DIR", str(proj / "cache"))
    for k in ("SSE_TASKS", "SSE_MODELS", "SSE_OUTPUT", "SSE_RUNS"):
        monkeypatch.setenv(k, "")
    t0 = time.monotonic()
    rc = main(["evaluate", "--tasks", "tasks/t.yaml", "--output", "reports"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert time.monotonic() - t0 < 300
    results = json.loads((proj / "reports" / "tiny" / "results.json").read_text())
    skipped = {s["name"]: s["reason"] for s in results["skipped"]}
    assert set(skipped) == {"claude", "gemini"}
    assert "Not logged in" in skipped["claude"] and "Auth method" in skipped["gemini"]
    assert [s["name"] for s in results["systems"]] == ["local-answer"]
    assert results["systems"][0]["accuracy"] == 1.0
    md = (proj / "reports" / "tiny" / "report.md").read_text()
    html = (proj / "reports" / "tiny" / "report.html").read_text()
    for name, reason in skipped.items():
        assert f"- {name}: {reason}" in md
        assert f"system {name} skipped: {reason}" in err
        assert name in html and "Not logged in" in html
    assert "failed to answer" not in err
    print(json.dumps(skipped), file=sys.stderr)

