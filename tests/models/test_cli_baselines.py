"""CLI baselines against stand-in executables placed first on PATH.

The stand-ins (tests/data/fake_clis/fake_tool.py) print each tool's documented output:
success, API error, rate limit, malformed JSON, a slow answer, an auth failure.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sse.core.errors import ConfigError
from sse.core.records import Example
from sse.systems import base
from sse.systems.budget import Budget
from sse.systems.clis import (
    ClaudeCodeAdapter,
    CommandAdapter,
    GeminiCliAdapter,
    LlmCliAdapter,
    OllamaAdapter,
    classify,
)
from sse.systems.clis.outcome import Invocation
from sse.task.spec import Decoding, Prices, Prompt, SystemSpec

FAKES = Path(__file__).resolve().parents[1] / "data" / "fake_clis"
SYSTEM = "You translate Python functions to idiomatic Rust. Answer with one rust code block."


@pytest.fixture()
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bin folder with claude/gemini/llm/ollama stand-ins first on PATH; returns the state dir."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("claude", "gemini", "llm", "ollama"):
        exe = bindir / tool
        exe.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(FAKES)!r})\n"
                       f"import fake_tool\nfake_tool.main({tool!r})\n")
        exe.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    monkeypatch.setenv("HOME", str(home))
    for var in ("FAKE_MODE", "FAKE_COST", "FAKE_ARRAY", "FAKE_VERSION", "FAKE_OLLAMA_DOWN", "SSE_MAX_COST",
                "SSE_BUDGET_LEDGER", "CLAUDE_CONFIG_DIR", "ANTHROPIC_API_KEY", "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)
    return state


@pytest.fixture()
def service() -> Any:
    """A loopback port that accepts connections: a stand-in for a reachable provider API."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


def calls(state: Path) -> list[dict[str, Any]]:
    f = state / "calls.jsonl"
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []


def prompt(i: int, user: str | None = None, *, timeout_s: float = 20.0, run: int = 0) -> Prompt:
    ex = Example(id=f"ex{i}", python=f"def f{i}(x: int) -> int:\n    return x + {i}\n", entry_point=f"f{i}")
    text = user if user is not None else f"Translate this Python to Rust:\n{ex.python}"
    return Prompt(system=SYSTEM, user=text, example=ex, run=run, decoding=Decoding(timeout_s=timeout_s))


def spec(kind: str, name: str | None = None, **options: Any) -> SystemSpec:
    return SystemSpec(name=name or f"{kind}-sys", kind=kind, options={"backoff_s": 0.01, **options})


# ------------------------------------------------------------------ claude
def test_claude_success_reads_text_tokens_and_provider_dollars(fake_path: Path) -> None:
    a = ClaudeCodeAdapter(spec("claude", model="sonnet"))
    assert a.unavailable_reason() is None
    assert a.is_stochastic(Decoding(temperature=0.0))
    out = a.generate([prompt(1), prompt(2)])
    assert [c.example_id for c in out] == ["ex1", "ex2"]
    log = calls(fake_path)
    assert len(log) == 2
    for c in out:
        assert c.error is None and c.error_kind is None
        assert c.text.startswith("```rust")
        rec = next(r for r in log if r["stdin"] == prompt(int(c.example_id[2:])).user)
        n_in = len(SYSTEM.split()) + len(rec["stdin"].split())
        assert c.tokens_in == n_in + 100 + 2000  # uncached + cache writes + cache reads
        assert c.tokens_out == 17
        assert c.dollars == pytest.approx(0.0125)
        assert c.cost_source == "provider"
        assert c.meta["cache_read_tokens"] == 2000 and c.meta["uncached_input_tokens"] == n_in
        assert c.meta["tool_version"] == "2.1.59 (Claude Code)"
    # the system prompt travels as --system-prompt, the user text on stdin, each call in its own folder
    assert all(r["system"] == SYSTEM for r in log)
    assert all("--model" in r["argv"] and "sonnet" in r["argv"] for r in log)
    assert len({r["cwd"] for r in log}) == 2
    assert all(Path(r["cwd"]).name.startswith("sse-claude-") for r in log)


def test_claude_array_output_and_isolated_config(fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("FAKE_ARRAY", "1")
    cfg = tmp_path / "home" / ".claude"
    cfg.mkdir()
    (cfg / ".credentials.json").write_text('{"claudeAiOauth": {"accessToken": "x"}}')
    out = ClaudeCodeAdapter(spec("claude", concurrency=2)).generate([prompt(1), prompt(2), prompt(3)])
    assert all(c.error is None and c.dollars == pytest.approx(0.0125) for c in out)
    dirs = [r["env"]["CLAUDE_CONFIG_DIR"] for r in calls(fake_path)]
    assert len(set(dirs)) == 3 and all(d and d.endswith(".claude-config") for d in dirs)


def test_rate_limit_then_success_is_retried(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "ratelimit_once")
    for cls, kind in ((ClaudeCodeAdapter, "claude"), (GeminiCliAdapter, "gemini"), (LlmCliAdapter, "llm")):
        opts = {"model": "gpt-4o"} if kind == "llm" else {}
        [c] = cls(spec(kind, **opts)).generate([prompt(7)])
        assert c.error is None, (kind, c.error)
        assert c.meta["attempts"] == 2
        assert c.tokens_in is not None
    assert len(calls(fake_path)) == 6


def test_rate_limit_forever_gives_up_after_bounded_retries(fake_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "ratelimit_always")
    slept: list[float] = []
    a = ClaudeCodeAdapter(spec("claude", retries=2, backoff_s=0.5, max_backoff_s=0.8))
    a.sleep = slept.append  # record the backoff instead of waiting
    [c] = a.generate([prompt(1)])
    assert c.error_kind == "crash" and "429" in (c.error or "") and "after 3 attempts" in (c.error or "")
    assert len(calls(fake_path)) == 3
    assert len(slept) == 2 and 0.25 <= slept[0] <= 0.5 and 0.4 <= slept[1] <= 0.8  # exponential, capped


def test_permanent_error_is_not_retried(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "error")
    [c] = ClaudeCodeAdapter(spec("claude")).generate([prompt(1)])
    assert c.error_kind == "crash" and "400" in (c.error or "") and c.meta["attempts"] == 1
    [g] = GeminiCliAdapter(spec("gemini")).generate([prompt(1)])
    assert g.error_kind == "crash" and "FatalInputError" in (g.error or "")
    assert len(calls(fake_path)) == 2


@pytest.mark.parametrize("cls,kind", [(ClaudeCodeAdapter, "claude"), (GeminiCliAdapter, "gemini")])
def test_malformed_json_is_a_crash_not_an_exception(fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    cls: type, kind: str) -> None:
    monkeypatch.setenv("FAKE_MODE", "malformed")
    [c] = cls(spec(kind)).generate([prompt(1)])
    assert c.error_kind == "crash" and "malformed JSON" in (c.error or "")
    assert c.text == "" and len(calls(fake_path)) == 1


@pytest.mark.parametrize("kind", ["claude", "gemini", "llm", "ollama"])
def test_slow_answer_past_the_timeout(fake_path: Path, kind: str, service: str) -> None:
    cls = {"claude": ClaudeCodeAdapter, "gemini": GeminiCliAdapter, "llm": LlmCliAdapter,
           "ollama": OllamaAdapter}[kind]
    opts: dict[str, Any] = {"model": "qwen2.5-coder:0.5b"} if kind in ("llm", "ollama") else {}
    if kind != "ollama":
        opts["service_url"] = service  # the provider is reachable: a silent timeout is the model's
    a = cls(spec(kind, timeout_s=1, **opts))
    out = a.generate([prompt(1, "MODE=slow please"), prompt(2)])
    assert out[0].error_kind == "timeout" and "1 s" in (out[0].error or "")
    assert out[0].meta["attempts"] == 1  # a timeout is not retried
    assert out[1].error is None  # the next prompt is unaffected


def test_missing_binary_skips_with_one_line_reason(fake_path: Path) -> None:
    a = ClaudeCodeAdapter(spec("claude", binary="claude-not-installed"))
    reason = a.unavailable_reason()
    assert reason and "\n" not in reason and "claude-not-installed" in reason and "not found" in reason
    out = a.generate([prompt(1), prompt(2)])
    assert [c.error_kind for c in out] == ["skipped", "skipped"]
    assert all(c.error == reason for c in out)
    assert calls(fake_path) == []


@pytest.mark.parametrize("kind", ["claude", "gemini", "llm"])
def test_unauthenticated_tool_skips_the_rest(fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             kind: str) -> None:
    monkeypatch.setenv("FAKE_MODE", "auth")
    cls = {"claude": ClaudeCodeAdapter, "gemini": GeminiCliAdapter, "llm": LlmCliAdapter}[kind]
    a = cls(spec(kind, concurrency=1, **({"model": "gpt-4o"} if kind == "llm" else {})))
    out = a.generate([prompt(1), prompt(2), prompt(3)])
    assert [c.error_kind for c in out] == ["skipped"] * 3
    assert len(calls(fake_path)) == 1  # one try, then the reason sticks
    reason = a.unavailable_reason()
    assert reason and "\n" not in reason and kind in reason


# ------------------------------------------------------------------ gemini
def test_gemini_success_tokens_and_system_prompt_file(fake_path: Path) -> None:
    a = GeminiCliAdapter(spec("gemini", model="gemini-2.5-pro"))
    [c] = a.generate([prompt(3)])
    [rec] = calls(fake_path)
    assert rec["system"] == SYSTEM  # GEMINI_SYSTEM_MD pointed at a per-call file holding it
    assert rec["env"]["GEMINI_SYSTEM_MD"].startswith(rec["cwd"])
    assert rec["argv"][:4] == ["--output-format", "json", "-m", "gemini-2.5-pro"]
    n = len(SYSTEM.split()) + len(prompt(3).user.split())
    assert c.error is None and c.text.startswith("```rust")
    assert c.tokens_in == n and c.tokens_out == 21 + 8  # candidates + thoughts
    assert c.dollars is None and c.cost_source == "unpriced" and c.meta["priced_by"] == "tokens"
    assert c.meta["models"] == ["gemini-2.5-pro"] and c.meta["cached_tokens"] == 5


def test_gemini_long_prompt_goes_on_stdin(fake_path: Path) -> None:
    long_user = "Translate this Python to Rust:\n" + "x = 1\n" * 25_000
    [c] = GeminiCliAdapter(spec("gemini")).generate([prompt(1, long_user)])
    [rec] = calls(fake_path)
    assert not any(a.startswith("--prompt=") for a in rec["argv"]) and rec["stdin"] == long_user
    assert c.error is None and c.tokens_in == len(SYSTEM.split()) + len(long_user.split())


# --------------------------------------------------------------------- llm
def test_llm_usage_line_and_arguments(fake_path: Path) -> None:
    a = LlmCliAdapter(spec("llm", model="gpt-4o-mini", model_options={"temperature": 0}))
    [c] = a.generate([prompt(4)])
    [rec] = calls(fake_path)
    assert rec["argv"][:6] == ["prompt", "-m", "gpt-4o-mini", "--no-stream", "--no-log", "-u"]
    assert rec["system"] == SYSTEM and rec["stdin"] == prompt(4).user
    assert ["-o", "temperature", "0"] == rec["argv"][rec["argv"].index("-o"):rec["argv"].index("-o") + 3]
    n = 1000 + len(SYSTEM.split()) + len(prompt(4).user.split())
    assert c.tokens_in == n and c.tokens_out == 19  # "1,0NN input" parsed with its comma
    assert c.meta["token_details"] == {"prompt_tokens_details": {"cached_tokens": 1024}}
    assert c.text.startswith("```rust") and not c.text.endswith("\n")


def test_llm_without_usage_leaves_tokens_unknown(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "malformed")
    [c] = LlmCliAdapter(spec("llm", model="some-plugin-model")).generate([prompt(1)])
    assert c.error is None and c.tokens_in is None and c.tokens_out is None
    assert c.dollars is None and c.cost_source == "unpriced"


# ------------------------------------------------------------------ ollama
def test_ollama_cli_verbose_stats(fake_path: Path) -> None:
    a = OllamaAdapter(spec("ollama", model="qwen2.5-coder:0.5b"))
    assert a.unavailable_reason() is None
    assert a.version() == "ollama version is 0.12.3"
    [c] = a.generate([prompt(5)])
    [rec] = calls(fake_path)
    assert rec["argv"] == ["run", "qwen2.5-coder:0.5b", "--verbose"]
    assert rec["stdin"] == f"{SYSTEM}\n\n{prompt(5).user}"  # no system channel on the CLI: joined
    assert c.error is None and c.text.startswith("```rust") and "total duration" not in c.text
    assert c.tokens_in == len(rec["stdin"].split()) and c.tokens_out == 1133
    assert c.meta["total_duration_s"] == pytest.approx(147.989997625)
    assert c.meta["load_duration_s"] == pytest.approx(0.559665542)
    assert c.meta["priced_by"] == "machine_time"


def test_ollama_unpulled_model_or_stopped_server_is_skipped(fake_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    r = OllamaAdapter(spec("ollama", model="llama3:70b")).unavailable_reason()
    assert r and "not pulled" in r and "ollama pull llama3:70b" in r
    monkeypatch.setenv("FAKE_OLLAMA_DOWN", "1")
    a = OllamaAdapter(spec("ollama", model="qwen2.5-coder:0.5b"))
    r2 = a.unavailable_reason()
    assert r2 and "server running" in r2
    assert [c.error_kind for c in a.generate([prompt(1)])] == ["skipped"]


class _FakeOllamaApi(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []
    fail_first: list[int] = []

    def log_message(self, *a: Any) -> None:
        pass

    def _send(self, code: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._send(200, {"version": "0.12.3"})
        elif self.path == "/api/tags":
            self._send(200, {"models": [{"name": "qwen2.5-coder:0.5b", "digest": "4ff64a7f502a" + "0" * 52}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if type(self).fail_first:
            type(self).fail_first.pop()
            self._send(503, {"error": "server busy, please try again. maximum pending requests exceeded"})
            return
        self._send(200, {"model": body["model"], "response": "```rust\nfn main() {}\n```", "done": True,
                         "done_reason": "stop", "total_duration": 5_088_275_983, "prompt_eval_count": 26,
                         "eval_count": 298})


def test_ollama_api_transport_passes_system_and_decoding(fake_path: Path) -> None:
    _FakeOllamaApi.bodies, _FakeOllamaApi.fail_first = [], [1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOllamaApi)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        a = OllamaAdapter(spec("ollama", model="qwen2.5-coder:0.5b", transport="api", host=host))
        assert a.unavailable_reason() is None and a.version() == "ollama-api 0.12.3"
        [c] = a.generate([prompt(6)])
        missing = OllamaAdapter(spec("ollama", model="nope", transport="api", host=host)).unavailable_reason()
    finally:
        server.shutdown()
        server.server_close()
    assert c.error is None and c.meta["attempts"] == 2  # 503 retried
    assert c.tokens_in == 26 and c.tokens_out == 298 and c.meta["total_duration_s"] == pytest.approx(5.088275983)
    body = _FakeOllamaApi.bodies[-1]
    assert body["system"] == SYSTEM and body["prompt"] == prompt(6).user and body["stream"] is False
    assert body["options"]["temperature"] == 0.0 and body["options"]["num_predict"] == 512
    assert missing and "not pulled" in missing


# ----------------------------------------------------------------- command
def _cmd(tmp_path: Path, **opts: Any) -> CommandAdapter:
    return CommandAdapter(spec("command", name="echo-model",
                               argv=[sys.executable, str(FAKES / "echo_model.py")], **opts))


def test_command_success_crash_timeout(tmp_path: Path, fake_path: Path) -> None:
    a = _cmd(tmp_path, timeout_s=1, concurrency=3)
    assert a.is_stochastic(Decoding()) is True  # default: not declared deterministic
    out = a.generate([prompt(1), prompt(2, "please CRASH"), prompt(3, "SLOW")])
    ok, crash, slow = out
    assert ok.error is None and ok.text.startswith("```rust")
    assert f"words={len((SYSTEM + ' ' + prompt(1).user).split())}" in ok.text  # system + user on stdin
    assert ok.cpu_s is not None and ok.cpu_s >= 0 and ok.tokens_in is None
    assert crash.error_kind == "crash" and "exited 3" in (crash.error or "") and "segmentation" in crash.error
    assert slow.error_kind == "timeout"


def test_command_json_stdin_and_determinism(tmp_path: Path, fake_path: Path) -> None:
    a = _cmd(tmp_path, stdin="json", deterministic=True)
    assert a.is_stochastic(Decoding(temperature=0.0)) is False
    [c] = a.generate([prompt(9, run=2)])
    assert c.text.strip() == "json example=ex9 run=2 temperature=0.0"
    missing = CommandAdapter(spec("command", argv=["no-such-model-binary"]))
    assert "not found" in (missing.unavailable_reason() or "")
    assert missing.generate([prompt(1)])[0].error_kind == "skipped"


# ----------------------------------------------------------- identity/config
def test_fingerprint_follows_tool_version(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f1 = ClaudeCodeAdapter(spec("claude", model="sonnet")).fingerprint()
    assert f1 == ClaudeCodeAdapter(spec("claude", model="sonnet")).fingerprint()
    assert f1 != ClaudeCodeAdapter(spec("claude", model="opus")).fingerprint()
    monkeypatch.setenv("FAKE_VERSION", "2.2.0")
    assert ClaudeCodeAdapter(spec("claude", model="sonnet")).fingerprint() != f1


def test_bad_registry_options_are_one_line_errors() -> None:
    with pytest.raises(ConfigError) as e:
        ClaudeCodeAdapter(SystemSpec(name="c", kind="claude", options={"modle": "x"}, registry_file="m.yaml"))
    msg = str(e.value)
    assert "\n" not in msg and "m.yaml" in msg and "systems.c.options.modle" in msg and "fix:" in msg
    with pytest.raises(ConfigError, match="needs a model"):
        LlmCliAdapter(SystemSpec(name="l", kind="llm"))
    with pytest.raises(ConfigError, match="argv"):
        CommandAdapter(SystemSpec(name="x", kind="command"))
    with pytest.raises(ConfigError, match="expected int"):
        GeminiCliAdapter(SystemSpec(name="g", kind="gemini", options={"retries": "3"}))


def test_classify_messages() -> None:
    assert classify("API Error: 429 rate_limit_error") == "transient"
    assert classify("overloaded_error 529") == "transient"
    assert classify("Error: connect ECONNRESET") == "transient"
    assert classify("Invalid API key · Please run /login") == "auth"
    assert classify("invalid_request_error: prompt is too long") == "permanent"


# ------------------------------------------------------------------ budget
def test_budget_stops_paid_calls_cleanly(fake_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    Budget.start(ledger, 0.03)
    for k, v in Budget.env(0.03, ledger).items():
        monkeypatch.setenv(k, v)
    out = ClaudeCodeAdapter(spec("claude", concurrency=1)).generate([prompt(i) for i in range(5)])
    assert [c.error_kind for c in out] == [None, None, "budget", "budget", "budget"]
    assert all("budget $0.0300 reached" in (c.error or "") for c in out[2:])
    assert len(calls(fake_path)) == 2  # no call was made after the stop
    snap = Budget(ledger, 0.03).snapshot()
    assert snap["spent"] == pytest.approx(0.025) and snap["spent"] <= 0.03
    assert snap["calls"] == 2 and snap["refused"] == 3 and snap["reserved"] == pytest.approx(0.0)


def test_budget_counts_registry_priced_tokens(fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    """Without provider dollars the budget uses tokens x the registry's prices (Completion.dollars stays None)."""

    ledger = tmp_path / "ledger.json"
    Budget.start(ledger, 1.0)
    for k, v in Budget.env(1.0, ledger).items():
        monkeypatch.setenv(k, v)
    s = SystemSpec(name="g", kind="gemini", prices=Prices(input_per_mtok=1.25, output_per_mtok=10.0))
    [c] = GeminiCliAdapter(s).generate([prompt(1)])
    expect = (c.tokens_in * 1.25 + c.tokens_out * 10.0) / 1e6
    assert c.dollars is None and c.meta["budget_dollars"] == pytest.approx(expect)
    assert Budget(ledger, 1.0).spent() == pytest.approx(expect)


# ------------------------------------------------------- evaluation-like flow
def test_two_frontier_stand_ins_through_the_registry(fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    from sse.task.config import load_registry

    reg = tmp_path / "models.yaml"
    reg.write_text(
        "systems:\n"
        "  claude-sonnet:\n    kind: claude\n    options: {model: sonnet, concurrency: 2, backoff_s: 0.01}\n"
        "  gemini-pro:\n    kind: gemini\n"
        "    prices: {input_per_mtok: 1.25, output_per_mtok: 10.0, date: 2025-06-01, source: vendor page}\n"
        "    options: {model: gemini-2.5-pro, backoff_s: 0.01}\n"
        f"  echo-local:\n    kind: command\n    options: {{argv: [{sys.executable}, {FAKES / 'echo_model.py'}],"
        " deterministic: true}\n")
    monkeypatch.setattr(base, "BUILTIN_ADAPTER_MODULES", ("sse.systems.clis",))
    monkeypatch.setenv("FAKE_MODE", "ok")
    ledger = tmp_path / "ledger.json"
    Budget.start(ledger, 10.0)
    for k, v in Budget.env(10.0, ledger).items():
        monkeypatch.setenv(k, v)
    specs = load_registry(reg)
    prompts = [prompt(i, f"Translate example {i}" + (" MODE=ratelimit_once" if i == 1 else "")) for i in range(3)]
    results: dict[str, list[Any]] = {}
    for name, s in specs.items():
        adapter = base.build_adapter(s, task=None)
        assert isinstance(adapter, base.Adapter)
        assert adapter.unavailable_reason() is None
        assert len(adapter.fingerprint()) == 32
        results[name] = adapter.generate(prompts)
    claude, gemini, local = results["claude-sonnet"], results["gemini-pro"], results["echo-local"]
    assert all(c.error is None for c in claude + gemini + local)
    assert [c.meta["attempts"] for c in claude] == [1, 2, 1]  # the rate-limited prompt was retried
    assert sum(c.dollars for c in claude) == pytest.approx(3 * 0.0125)
    assert {c.cost_source for c in claude} == {"provider"}
    assert all(c.dollars is None and c.cost_source == "unpriced" and c.tokens_in and c.tokens_out for c in gemini)
    assert all(c.tokens_in is None and c.cpu_s is not None for c in local)
    snap = Budget(ledger, 10.0).snapshot()
    gem_tokens = sum((c.tokens_in * 1.25 + c.tokens_out * 10.0) / 1e6 for c in gemini)
    assert snap["by_system"]["claude-sonnet"]["dollars"] == pytest.approx(3 * 0.0125)
    assert snap["by_system"]["gemini-pro"]["dollars"] == pytest.approx(gem_tokens)
    assert snap["by_system"]["echo-local"]["dollars"] == 0.0
    assert [c.to_dict()["system"] for c in claude] == ["claude-sonnet"] * 3


# ------------------------------------------------- current releases (issue 15)
def test_gemini_061_trusts_the_fresh_folder_and_splits_tokens_by_role(fake_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GEMINI", "0.61")
    s = SystemSpec(name="g", kind="gemini", options={"model": "gemini-2.5-pro"},
                   prices=Prices(input_per_mtok=1.25, output_per_mtok=10.0))
    [c] = GeminiCliAdapter(s).generate([prompt(3)])
    assert c.error is None, c.error
    n = len(SYSTEM.split()) + len(prompt(3).user.split())
    assert c.tokens_in == n and c.tokens_out == 21 + 8  # the main role only: the router is not the answer
    assert c.meta["main_models"] == ["gemini-2.5-pro"]
    assert c.meta["utility_tokens"] == [{"model": "gemini-2.5-flash-lite", "role": "utility_router",
                                         "input": 310, "output": 12}]
    assert c.meta["utility_tokens_in"] == 310 and c.meta["utility_tokens_out"] == 12


def test_gemini_without_roles_names_the_main_model(fake_path: Path) -> None:
    a = GeminiCliAdapter(spec("gemini", model="gemini-2.5-pro"))
    data = {"response": "x", "stats": {"models": {
        "gemini-2.5-pro": {"tokens": {"prompt": 100, "candidates": 50, "thoughts": 0}},
        "gemini-2.5-flash-lite": {"tokens": {"prompt": 300, "candidates": 70, "thoughts": 0}}}}}
    r = a._accounted("x", data)
    assert (r.tokens_in, r.tokens_out) == (100, 50)  # options.model wins over "most output"
    assert r.meta["utility_tokens_in"] == 300


def test_gemini_061_errors_on_stderr_are_read(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GEMINI", "0.61")
    monkeypatch.setenv("FAKE_MODE", "error")
    [c] = GeminiCliAdapter(spec("gemini")).generate([prompt(1)])
    assert c.error_kind == "crash" and c.error.startswith("gemini: FatalInputError: Invalid prompt")
    monkeypatch.setenv("FAKE_MODE", "auth")
    a = GeminiCliAdapter(spec("gemini", concurrency=1))
    out = a.generate([prompt(1), prompt(2)])
    assert [x.error_kind for x in out] == ["skipped", "skipped"]
    assert "Please set an Auth method" in (a.unavailable_reason() or "") and "{" not in a.unavailable_reason()


def test_untrusted_folder_is_one_configuration_error(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool refusing how it is called fails the same on every prompt: one skip, one call."""
    monkeypatch.setenv("FAKE_GEMINI", "0.61")
    a = GeminiCliAdapter(spec("gemini", concurrency=1, env={"GEMINI_CLI_TRUST_WORKSPACE": "false"}))
    a.build = lambda p, w: Invocation(["gemini", "--output-format", "json", f"--prompt={p.user}"])  # type: ignore
    out = a.generate([prompt(1), prompt(2), prompt(3)])
    assert [x.error_kind for x in out] == ["skipped"] * 3 and len(calls(fake_path)) == 0
    assert (a.unavailable_reason() or "").startswith("configuration error: gemini: exit 55")


def test_llm_refused_option_is_one_configuration_error(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLM_NO_OPTIONS", "1")
    a = LlmCliAdapter(spec("llm", model="echo", model_options={"temperature": 0}, concurrency=1))
    out = a.generate([prompt(1), prompt(2), prompt(3)])
    assert [x.error_kind for x in out] == ["skipped"] * 3
    reason = a.unavailable_reason() or ""
    assert reason.startswith("configuration error: llm:") and "Extra inputs are not permitted" in reason


def test_llm_empty_usage_line_means_not_reported(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "nousage")
    [c] = LlmCliAdapter(spec("llm", model="plugin-model")).generate([prompt(1)])
    assert c.error is None and c.tokens_in is None and c.tokens_out is None
    assert c.meta["usage"] == "not reported by this model's plugin"


def test_silent_timeout_with_no_service_is_infrastructure(fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude Code with a key and no route prints nothing until killed: the connect probe tells
    it from a slow model; later calls probe first instead of paying the timeout again, and the
    first three failing alike skip the system."""
    import socket

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    monkeypatch.setenv("FAKE_MODE", "netdown")
    a = ClaudeCodeAdapter(spec("claude", timeout_s=1, retries=0, concurrency=1,
                               service_url=f"https://127.0.0.1:{port}"))
    out = a.generate([prompt(i) for i in range(5)])
    assert out[0].meta["failure"] == "unreachable" and out[0].error_kind == "skipped"
    assert all(c.error_kind == "skipped" for c in out)
    assert len(calls(fake_path)) == 1  # one real call; then probes only
    reason = a.unavailable_reason() or ""
    assert reason.startswith("infrastructure: the first 3 calls all failed the same way") and str(port) in reason


def test_connection_errors_on_stderr_before_the_timeout_are_infrastructure(
        fake_path: Path, monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    monkeypatch.setenv("FAKE_GEMINI", "0.61")
    a = GeminiCliAdapter(spec("gemini", timeout_s=2, retries=0, service_url=service, concurrency=1))
    c, *rest = a.generate([prompt(1, "MODE=netdown"), prompt(2), prompt(3)])
    assert c.error_kind == "crash" and c.meta["failure"] == "unreachable" and "fetch failed" in (c.error or "")
    assert all(x.error is None for x in rest) and a.unavailable_reason() is None


def test_first_calls_failing_alike_skip_but_mixed_results_do_not(fake_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_MODE", "error")
    a = ClaudeCodeAdapter(spec("claude", concurrency=1))
    out = a.generate([prompt(i) for i in range(5)])
    assert [c.error_kind for c in out] == ["skipped"] * 5 and len(calls(fake_path)) == 3
    assert "first 3 calls all failed the same way" in (a.unavailable_reason() or "")
    monkeypatch.setenv("FAKE_MODE", "ok")
    b = ClaudeCodeAdapter(spec("claude", concurrency=1))
    mixed = b.generate([prompt(10, "MODE=error a"), prompt(11), prompt(12, "MODE=error b"), prompt(13)])
    assert [c.error_kind for c in mixed] == ["crash", None, "crash", None] and b.unavailable_reason() is None


# --------------------------------------------------- locality and pricing
def test_local_llm_is_priced_by_machine_time(fake_path: Path) -> None:
    a = LlmCliAdapter(spec("llm", model="smollm2", local=True))
    assert a.local and a.pricing_hint == "machine_time" and a.price_model is None
    [c] = a.generate([prompt(1)])
    assert c.error is None and c.cpu_s is not None and c.cpu_s > 0 and c.meta["local"] is True
    remote = LlmCliAdapter(spec("llm", model="gpt-4o"))
    assert not remote.local and remote.pricing_hint == "tokens"


@pytest.mark.parametrize("kind,opts", [("llm", {"model": "m", "local": True}), ("ollama", {"model": "m"}),
                                       ("command", {"argv": ["true"]})])
def test_registry_prices_on_a_local_system_are_an_error(kind: str, opts: dict[str, Any]) -> None:
    s = SystemSpec(name="x", kind=kind, options=opts, registry_file="models.yaml",
                   prices=Prices(input_per_mtok=1.0, output_per_mtok=2.0))
    with pytest.raises(ConfigError) as e:
        base.build_adapter(s, None)
    msg = e.value.one_line()
    assert msg.startswith("models.yaml: systems.x.prices:") and "local: false" in msg and "\n" not in msg


def test_local_is_refused_where_the_kind_cannot_be_local() -> None:
    with pytest.raises(ConfigError, match="always remote"):
        ClaudeCodeAdapter(SystemSpec(name="c", kind="claude", options={"local": True}))


def test_remote_command_reports_tokens_and_may_have_prices(tmp_path: Path, fake_path: Path) -> None:
    script = tmp_path / "api_model.py"
    script.write_text("import json, sys\nd = sys.stdin.read()\n"
                      "print(json.dumps({'text': 'fn main() {}', 'tokens_in': len(d.split()), 'tokens_out': 3}))\n")
    s = SystemSpec(name="remote-cmd", kind="command", prices=Prices(input_per_mtok=1.0, output_per_mtok=2.0),
                   options={"argv": [sys.executable, str(script)], "local": False, "stdout": "json"})
    a = base.build_adapter(s, None)
    [c] = a.generate([prompt(1)])
    assert a.local is False and c.text == "fn main() {}" and c.tokens_out == 3
    assert c.tokens_in == len(f"{SYSTEM}\n\n{prompt(1).user}".split())


# ----------------------------------------------- command identity (issue 19)
def _registry_with_script(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "reg" / "scripts").mkdir(parents=True)
    (tmp_path / "reg" / "scripts" / "my_model.py").write_text(
        "import pathlib, sys\nsys.stdin.read()\nprint('answer A')\n")
    (tmp_path / "reg" / "scripts" / "weights.txt").write_text("w1\n")
    reg = tmp_path / "reg" / "models.yaml"
    reg.write_text("systems:\n  mine:\n    kind: command\n"
                   f"    options: {{argv: [python3, scripts/my_model.py], deterministic: true{extra}}}\n")
    return reg


def test_command_relative_script_runs_from_the_registry_folder(tmp_path: Path, fake_path: Path) -> None:
    from sse.task.config import load_registry

    reg = _registry_with_script(tmp_path)
    a = base.build_adapter(load_registry(reg)["mine"], None)
    assert a.argv[1] == str((tmp_path / "reg" / "scripts" / "my_model.py").resolve())
    [c] = a.generate([prompt(1)])
    assert c.error is None and c.text.strip() == "answer A"  # each call runs in a fresh temp folder


def test_command_fingerprint_covers_the_script_and_declared_files(tmp_path: Path, fake_path: Path) -> None:
    from sse.task.config import load_registry

    reg = _registry_with_script(tmp_path, ", files: [scripts/weights.txt]")
    a = base.build_adapter(load_registry(reg)["mine"], None)
    f0 = a.fingerprint()
    script = tmp_path / "reg" / "scripts" / "my_model.py"
    script.write_text(script.read_text().replace("answer A", "answer B"))
    f1 = a.fingerprint()
    assert f1 != f0  # an edited script is a different system: its cached answers no longer serve
    (tmp_path / "reg" / "scripts" / "weights.txt").write_text("w2\n")
    assert a.fingerprint() not in (f0, f1)
    with pytest.raises(ConfigError, match="options.files"):
        CommandAdapter(SystemSpec(name="m", kind="command", registry_file=str(reg),
                                  options={"argv": ["python3"], "files": ["missing.bin"]}))


def test_edited_command_script_is_regenerated_through_the_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 fake_path: Path) -> None:
    """Issue 19.1 end to end: after editing the script, `generate` is out of date and the new
    answers replace the cached ones (before: the old answers were reported as up to date)."""
    from sse.graph import run_doit
    from sse.run.context import Plan
    from sse.run.shards import read_entries

    reg = _registry_with_script(tmp_path)
    proj = reg.parent
    (proj / "corpus.jsonl").write_text(json.dumps({
        "id": "add", "entry_point": "add", "python": "def add(a: int, b: int) -> int:\n    return a + b\n",
        "tests": [{"args": "1, 2"}, {"args": "-5, 5"}, {"args": "0, 0"}]}) + "\n")
    (proj / "t.yaml").write_text(
        "task: {id: edit, corpus: corpus.jsonl}\nevaluation: {runs: 2, systems: [mine], machine_price_per_hour: 0.1}\n"
        "prompts:\n  system: Translate.\n  user_template: \"{python_code}\"\nground_truth: {type: compiler}\n")
    monkeypatch.chdir(proj)
    monkeypatch.setenv("SSE_CACHE_DIR", str(proj / "cache"))
    for k in ("SSE_TASKS", "SSE_MODELS", "SSE_OUTPUT", "SSE_RUNS"):
        monkeypatch.setenv(k, "")
    plan = Plan(task_glob="t.yaml", output="reports")

    def answers() -> list[str]:
        assert run_doit(["generate"], plan) == 0
        return [e["completion"]["text"].strip() for r in range(2)
                for e in read_entries(proj / "cache" / "build" / "edit" / "mine" / f"generate-r{r}.json")[1]]

    assert answers() == ["answer A", "answer A"]
    script = proj / "scripts" / "my_model.py"
    script.write_text(script.read_text().replace("answer A", "answer B"))
    assert answers() == ["answer B", "answer B"]


def test_a_single_prompt_that_never_reaches_its_service_is_a_skip(fake_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-example task has no three calls to compare: no service reached by all of it suffices."""
    monkeypatch.setenv("FAKE_GEMINI", "0.61")
    monkeypatch.setenv("FAKE_MODE", "netdown")
    a = GeminiCliAdapter(spec("gemini", timeout_s=2, retries=0))
    [c] = a.generate([prompt(1)])
    assert c.error_kind == "skipped" and c.meta["failure"] == "unreachable"
    assert (a.unavailable_reason() or "").startswith("infrastructure: the only call failed: gemini: service not reached")
    monkeypatch.setenv("FAKE_MODE", "error")
    [d] = GeminiCliAdapter(spec("gemini")).generate([prompt(1)])
    assert d.error_kind == "crash"  # one model-side error is not enough to give up on a system
