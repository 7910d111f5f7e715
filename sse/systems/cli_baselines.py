"""Frontier (and other) systems reached through their command-line tools.

Kinds registered here: `claude`, `gemini`, `llm`, `ollama` and the generic `command`.
Each call is one subprocess (or, for `ollama` with `transport: api`, one local HTTP
request), run in its own temporary working directory, with a timeout that kills the
whole process group, bounded retries with exponential backoff on transient failures
(rate limits, network, 5xx), a per-provider concurrency limit, and the shared dollar
budget of `sse.systems.budget`. A per-prompt failure never raises: the Completion says
what went wrong (`error_kind` timeout / crash / skipped / budget).

Output formats were checked against the tools' own documentation and issue trackers;
the version each parser was written against is named in its class docstring and in
docs/baselines.md. Parsers are tolerant: unknown fields are ignored, and a missing
token count leaves the field None (never 0).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sse.core.errors import ConfigError
from sse.core.records import Completion
from sse.core.store import content_key, file_key
from sse.systems.base import register_kind
from sse.systems.budget import Budget
from sse.task.spec import Decoding, Prompt, SystemSpec

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MAX_CAPTURE = 8 << 20  # bytes kept of a tool's stdout/stderr
ARG_LIMIT = 100_000  # bytes of prompt passed as one argv element; longer goes on stdin

# Messages that mean "try again later". Checked after AUTH, so a 401 is never retried.
TRANSIENT = re.compile(
    r"\b(429|500|502|503|504|529)\b|rate.?limit|too many requests|overloaded|resource.?exhausted|"
    r"quota|temporar|try again|unavailable|internal server error|bad gateway|gateway time|"
    r"econnreset|etimedout|econnrefused|enotfound|eai_again|socket hang up|network|"
    r"connection (reset|refused|error|aborted)|timed out",
    re.IGNORECASE,
)
AUTH = re.compile(
    r"invalid api key|invalid x-api-key|authentication|unauthori[sz]ed|\b401\b|/login|not logged in|"
    r"please log ?in|no api key|api key (is )?(missing|not (set|found|valid))|missing api key|"
    r"credentials? (not found|missing|invalid|expired)|oauth token (has )?expired|"
    r"auth(entication)? (failed|required)|No key found|not a known model|unknown model",
    re.IGNORECASE,
)


def _one_line(text: str, limit: int = 300) -> str:
    s = " ".join(ANSI.sub("", text or "").split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def classify(message: str) -> str:
    """'auth' | 'transient' | 'permanent' for a tool's error text."""
    if AUTH.search(message or ""):
        return "auth"
    if TRANSIENT.search(message or ""):
        return "transient"
    return "permanent"


# ------------------------------------------------------------------ subprocesses
@dataclass
class ProcResult:
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float | None
    timed_out: bool = False
    spawn_error: str | None = None


def run_process(argv: list[str], stdin: str, *, env: dict[str, str], cwd: str | os.PathLike[str],
                timeout_s: float) -> ProcResult:
    """Run argv in its own session; on timeout kill the whole group. Returns the child's CPU
    seconds (os.wait4 rusage) as well as the wall time."""
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=str(cwd), env=env, start_new_session=True)
    except OSError as e:
        return ProcResult(None, "", "", 0.0, None, spawn_error=f"{argv[0]}: {e.strerror or e}")
    out: list[bytes] = []
    err: list[bytes] = []

    def _pump(stream: Any, sink: list[bytes]) -> None:
        size = 0
        while chunk := stream.read(65536):
            if size < MAX_CAPTURE:
                sink.append(chunk)
            size += len(chunk)

    def _feed() -> None:
        try:
            assert p.stdin is not None
            p.stdin.write(stdin.encode("utf-8"))
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                p.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

    threads = [threading.Thread(target=_pump, args=(p.stdout, out), daemon=True),
               threading.Thread(target=_pump, args=(p.stderr, err), daemon=True),
               threading.Thread(target=_feed, daemon=True)]
    for t in threads:
        t.start()
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        try:
            os.killpg(p.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass

    timer = threading.Timer(timeout_s, _kill)
    timer.start()
    try:
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    if not timed_out.is_set():  # a grandchild may still hold the pipes: a moment, then kill the group
        for t in threads[:2]:
            t.join(timeout=2.0)
        try:
            os.killpg(p.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
    for t in threads:
        t.join(timeout=2.0)
    for s in (p.stdout, p.stderr):
        try:
            s.close()  # type: ignore[union-attr]
        except OSError:
            pass
    return ProcResult(
        returncode=p.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace"),
        wall_s=time.perf_counter() - t0,
        cpu_s=ru.ru_utime + ru.ru_stime,
        timed_out=timed_out.is_set(),
    )


# ---------------------------------------------------------------------- results
@dataclass
class CallResult:
    """One attempt's outcome. `failure` None means success."""

    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    dollars: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None  # "transient" | "permanent" | "auth" | "timeout"
    message: str = ""
    latency_s: float = 0.0
    cpu_s: float | None = None

    @classmethod
    def fail(cls, message: str, kind: str | None = None) -> CallResult:
        msg = _one_line(message) or "no output"
        return cls(failure=kind or classify(msg), message=msg)


@dataclass
class Invocation:
    argv: list[str]
    stdin: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().replace(",", "").isdigit():
        return int(v.strip().replace(",", ""))
    return None


def _sum(*vals: int | None) -> int | None:
    got = [v for v in vals if v is not None]
    return sum(got) if got else None


def _json_payload(stdout: str) -> Any:
    """Parse a tool's JSON stdout; tolerate log lines before it (find the first '{' or '[')."""
    text = stdout.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for opener in ("{", "["):
        i, tries = text.find(opener), 0
        while i != -1 and tries < 20:
            try:
                return json.loads(text[i:])
            except json.JSONDecodeError:
                i, tries = text.find(opener, i + 1), tries + 1
    raise ValueError(f"malformed JSON output: {_one_line(stdout, 120) or 'empty stdout'}")


# ----------------------------------------------------------------- base adapter
_PROVIDER_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _provider_slots(provider: str, n: int) -> threading.BoundedSemaphore:
    """One semaphore per provider per process: two systems of one provider share its limit."""
    with _SLOTS_LOCK:
        if provider not in _PROVIDER_SLOTS:
            _PROVIDER_SLOTS[provider] = threading.BoundedSemaphore(max(1, n))
        return _PROVIDER_SLOTS[provider]


class CliAdapter:
    """Shared machinery; subclasses say how to invoke the tool and how to read its answer."""

    kind: ClassVar[str] = ""
    default_binary: ClassVar[str] = ""
    default_concurrency: ClassVar[int] = 2
    default_retries: ClassVar[int] = 3
    remote: ClassVar[bool] = True
    pricing_hint: ClassVar[str] = "tokens"  # how the analysis should price it when no dollars
    model_required: ClassVar[bool] = False
    COMMON: ClassVar[frozenset[str]] = frozenset({
        "binary", "model", "timeout_s", "retries", "backoff_s", "max_backoff_s", "concurrency",
        "env", "extra_args", "provider", "price_model"})
    EXTRA: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.task = task
        opts = dict(spec.options or {})
        allowed = self.COMMON | self.EXTRA
        for k in opts:
            if k not in allowed:
                self._bad(k, f"unknown option {k!r}", f"use one of: {', '.join(sorted(allowed))}")
        self.opts = opts
        self.binary: str = self._opt("binary", str, self.default_binary)
        self.model: str | None = self._opt("model", str, None) or spec.source.get("model") or None
        if self.model_required and not self.model:
            self._bad("model", "this kind needs a model name", f"add options: {{model: NAME}} for {spec.name}")
        self.timeout_s: float | None = self._opt("timeout_s", (int, float), None)
        self.retries: int = self._opt("retries", int, self.default_retries)
        self.backoff_s: float = float(self._opt("backoff_s", (int, float), 2.0))
        self.max_backoff_s: float = float(self._opt("max_backoff_s", (int, float), 60.0))
        self.concurrency: int = self._opt("concurrency", int, self.default_concurrency)
        if self.concurrency < 1 or self.retries < 0:
            self._bad("concurrency", "concurrency must be >= 1 and retries >= 0", "e.g. concurrency: 2")
        env = self._opt("env", dict, {})
        self.extra_env: dict[str, str] = {str(k): str(v) for k, v in env.items()}
        extra = self._opt("extra_args", list, [])
        self.extra_args: list[str] = [str(a) for a in extra]
        self.provider: str = self._opt("provider", str, self.kind)
        # the price-table row to use when the tool reports no dollars (e.g. model "sonnet" -> "claude-sonnet-4-5")
        self.price_model: str | None = self._opt("price_model", str, None) or self.model
        self.local = not self.remote  # for the analysis: local systems are priced by machine time
        self.batch_size = max(4, 2 * self.concurrency)  # prompts per generate() call the pipeline sends
        self._version: str | None = None
        self._version_error: str | None = None
        self._probed = False
        self._skip_reason: str | None = None
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # ---------------------------------------------------------------- options
    def _bad(self, key: str, message: str, fix: str) -> None:
        raise ConfigError(message, file=self.spec.registry_file or None,
                          field=f"systems.{self.spec.name}.options.{key}", fix=fix)

    def _opt(self, key: str, typ: type | tuple[type, ...], default: Any) -> Any:
        if key not in self.opts or self.opts[key] is None:
            return default
        v = self.opts[key]
        types = typ if isinstance(typ, tuple) else (typ,)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            self._bad(key, f"expected {names}, got {type(v).__name__} {v!r}"[:160], f"give {names}")
        return v

    # --------------------------------------------------------------- protocol
    def is_stochastic(self, decoding: Decoding) -> bool:
        """A remote model is never reproducible: every run is its own sample."""
        return True

    def version(self) -> str | None:
        """The tool's `--version` output (first non-empty line), probed once."""
        with self._lock:
            if not self._probed:
                self._probed = True
                self._version, self._version_error = self._probe_version()
            return self._version

    def _probe_version(self) -> tuple[str | None, str | None]:
        exe = shutil.which(self.binary)
        if exe is None:
            return None, (f"{self.kind}: executable {self.binary!r} not found on PATH "
                          f"(install it or set options.binary)")
        with tempfile.TemporaryDirectory(prefix="sse-ver-") as tmp:
            r = run_process([exe, "--version"], "", env=self._env({}), cwd=tmp, timeout_s=30.0)
        if r.spawn_error or r.timed_out or r.returncode != 0:
            why = r.spawn_error or ("timed out" if r.timed_out else _one_line(r.stderr or r.stdout, 160))
            return None, f"{self.kind}: `{self.binary} --version` failed: {why}"
        lines = [ln.strip() for ln in ANSI.sub("", r.stdout + "\n" + r.stderr).splitlines() if ln.strip()]
        good = [ln for ln in lines if not ln.lower().startswith("warning")]
        return ((good or lines or ["unknown"])[-1 if self.kind == "ollama" else 0]), None

    def fingerprint(self) -> str:
        return content_key("cli-system", self.kind, self.binary, self.version() or "unavailable",
                           self.spec.version, self.model, self.extra_args, self._fingerprint_extra())

    def _fingerprint_extra(self) -> Any:
        return None

    def unavailable_reason(self) -> str | None:
        if self._skip_reason:
            return self._skip_reason
        self.version()
        if self._version_error:
            return self._version_error
        return self._preflight()

    def _preflight(self) -> str | None:
        """Extra cheap, free checks (e.g. the ollama server is up and has the model)."""
        return None

    # --------------------------------------------------------------- calling
    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(extra)
        env.setdefault("NO_COLOR", "1")
        return env

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, proc: ProcResult) -> CallResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _timeout(self, prompt: Prompt) -> float:
        return float(self.timeout_s if self.timeout_s is not None else prompt.decoding.timeout_s)

    def call_once(self, prompt: Prompt) -> CallResult:
        """One attempt, in a fresh temporary working directory."""
        timeout = self._timeout(prompt)
        with tempfile.TemporaryDirectory(prefix=f"sse-{self.kind}-") as tmp:
            work = Path(tmp)
            inv = self.build(prompt, work)
            exe = shutil.which(inv.argv[0]) or inv.argv[0]
            proc = run_process([exe, *inv.argv[1:]], inv.stdin, env=self._env(inv.env), cwd=work,
                               timeout_s=timeout)
        if proc.spawn_error:
            return CallResult(failure="auth" if not shutil.which(inv.argv[0]) else "permanent",
                              message=proc.spawn_error)
        if proc.timed_out:
            r = CallResult(failure="timeout", message=f"{self.kind}: no answer within {timeout:g} s")
        else:
            try:
                r = self.parse(proc)
            except Exception as e:  # a parser bug must not sink the evaluation
                r = CallResult.fail(f"{self.kind}: could not read output: {e}", "permanent")
        r.latency_s = proc.wall_s
        if r.cpu_s is None and not self.remote:
            r.cpu_s = proc.cpu_s
        return r

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        return base * (0.5 + random.random() / 2)

    def _budget_dollars(self, r: CallResult) -> float:
        """What this call cost for the budget: the provider's figure, else tokens x the
        registry's prices when both are known, else 0 (unpriced calls cannot be capped)."""
        if r.dollars is not None:
            return r.dollars
        p = self.spec.prices
        if r.tokens_in is not None and r.tokens_out is not None and p.input_per_mtok is not None \
                and p.output_per_mtok is not None:
            return (r.tokens_in * p.input_per_mtok + r.tokens_out * p.output_per_mtok) / 1e6
        return 0.0

    def _completion(self, prompt: Prompt, **kw: Any) -> Completion:
        meta = {"kind": self.kind, "tool_version": self._version, "priced_by": self.pricing_hint}
        meta.update(kw.pop("meta", {}) or {})
        return Completion(system=self.spec.name, example_id=prompt.example.id, run=prompt.run, meta=meta,
                          **kw)

    def _skipped(self, prompt: Prompt, reason: str) -> Completion:
        return self._completion(prompt, text="", error=reason, error_kind="skipped")

    def run_prompt(self, prompt: Prompt, budget: Budget | None) -> Completion:
        if self._skip_reason:
            return self._skipped(prompt, self._skip_reason)
        est: float | None = None
        if budget is not None:
            est = budget.reserve(self.spec.name)
            if est is None:
                return self._completion(prompt, text="", error=budget.describe(), error_kind="budget")
        spent: float | None = None
        attempts = 0
        t0 = time.perf_counter()
        r = CallResult(failure="permanent", message="not run")
        try:
            with _provider_slots(self.provider, self.concurrency):
                for attempt in range(self.retries + 1):
                    attempts += 1
                    try:
                        r = self.call_once(prompt)
                    except Exception as e:  # harness bug: this prompt fails, the evaluation goes on
                        r = CallResult.fail(f"{self.kind}: {type(e).__name__}: {e}", "permanent")
                    if r.dollars is not None:
                        spent = (spent or 0.0) + r.dollars
                    if r.failure != "transient" or attempt == self.retries:
                        break
                    self.sleep(self._backoff(attempt))
        finally:
            charged = spent if spent is not None else self._budget_dollars(r)
            if budget is not None:
                budget.charge(self.spec.name, charged, reserved=est or 0.0)
        meta = dict(r.meta)
        if spent is None and charged:
            meta["budget_dollars"] = charged  # registry prices x tokens; the analysis prices for real
        meta["attempts"] = attempts
        meta["total_s"] = round(time.perf_counter() - t0, 6)
        common = dict(tokens_in=r.tokens_in, tokens_out=r.tokens_out, latency_s=r.latency_s, cpu_s=r.cpu_s,
                      dollars=spent, cost_source="provider" if spent is not None else "unpriced")
        if r.failure is None:
            return self._completion(prompt, text=r.text, meta=meta, **common)
        if r.failure == "auth":
            reason = r.message if r.message.startswith(f"{self.kind}:") else f"{self.kind}: {r.message}"
            with self._lock:
                self._skip_reason = self._skip_reason or _one_line(reason, 200)
            return self._completion(prompt, text="", error=reason, error_kind="skipped", meta=meta, **common)
        kind = "timeout" if r.failure == "timeout" else "crash"
        msg = r.message if r.failure != "transient" else f"{r.message} (gave up after {attempts} attempts)"
        return self._completion(prompt, text="", error=msg, error_kind=kind, meta=meta, **common)

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        """One Completion per prompt, in order. Never raises for a per-prompt failure."""
        if not prompts:
            return []
        reason = self.unavailable_reason()
        if reason:
            return [self._skipped(p, reason) for p in prompts]
        budget = Budget.from_env()
        if self.concurrency == 1 or len(prompts) == 1:
            return [self.run_prompt(p, budget) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts)),
                                thread_name_prefix=f"sse-{self.kind}") as pool:
            return list(pool.map(lambda p: self.run_prompt(p, budget), prompts))


def _joined(prompt: Prompt) -> str:
    """System and user text as one message, for tools without a system-prompt channel."""
    return f"{prompt.system.strip()}\n\n{prompt.user}" if prompt.system.strip() else prompt.user


# ------------------------------------------------------------------- claude
@register_kind("claude")
class ClaudeCodeAdapter(CliAdapter):
    """Claude Code in print mode: `claude -p --output-format json --system-prompt SYS --max-turns 1`,
    user text on stdin, run with a per-call CLAUDE_CONFIG_DIR when credentials can be copied.

    Parser written against Claude Code 2.1.x (result object: type/subtype/is_error/result/
    total_cost_usd/usage{input_tokens,output_tokens,cache_creation_input_tokens,
    cache_read_input_tokens}/modelUsage/api_error_status); it also accepts the older 1.0.x
    shape and the JSON array of messages some versions print (it takes the last `result`).
    """

    kind = "claude"
    default_binary = "claude"
    default_concurrency = 2
    EXTRA = frozenset({"isolate_config", "max_turns"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        self.isolate: bool | None = self._opt("isolate_config", bool, None)
        self.max_turns: int = self._opt("max_turns", int, 1)

    def _config_sources(self) -> tuple[Path, Path]:
        base = os.environ.get("CLAUDE_CONFIG_DIR")
        if base:
            return Path(base), Path(base) / ".claude.json"
        home = Path.home()
        return home / ".claude", home / ".claude.json"

    def _isolated_config(self, workdir: Path) -> dict[str, str]:
        """A private CLAUDE_CONFIG_DIR per call: parallel Claude Code processes corrupt a shared
        ~/.claude.json (anthropics/claude-code#15608, #28829). Credentials are copied in."""
        cfg_dir, cfg_json = self._config_sources()
        creds = cfg_dir / ".credentials.json"
        has_key = any(os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN",
                                                  "ANTHROPIC_AUTH_TOKEN")) or \
            any(self.extra_env.get(k) for k in ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"))
        isolate = self.isolate if self.isolate is not None else (creds.exists() or has_key)
        if not isolate:
            return {}
        mine = workdir / ".claude-config"
        mine.mkdir()
        for src, name in ((creds, ".credentials.json"), (cfg_json, ".claude.json")):
            if src.is_file():
                shutil.copy2(src, mine / name)
        return {"CLAUDE_CONFIG_DIR": str(mine)}

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        argv = [self.binary, "-p", "--output-format", "json", "--max-turns", str(self.max_turns)]
        if prompt.system.strip():
            argv += [f"--system-prompt={prompt.system}"]
        if self.model:
            argv += ["--model", self.model]
        argv += self.extra_args
        return Invocation(argv, stdin=prompt.user, env=self._isolated_config(workdir))

    def parse(self, proc: ProcResult) -> CallResult:
        try:
            data = _json_payload(proc.stdout)
        except ValueError as e:
            if proc.returncode:
                return CallResult.fail(f"exit {proc.returncode}: {proc.stderr or proc.stdout}")
            return CallResult.fail(f"claude: {e}", "permanent")
        if isinstance(data, list):
            results = [m for m in data if isinstance(m, dict) and m.get("type") == "result"]
            if not results:
                return CallResult.fail("claude: JSON array without a result message", "permanent")
            data = results[-1]
        if not isinstance(data, dict):
            return CallResult.fail("claude: JSON output is not an object", "permanent")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        cache_w = _int(usage.get("cache_creation_input_tokens"))
        cache_r = _int(usage.get("cache_read_input_tokens"))
        uncached = _int(usage.get("input_tokens"))
        cost = data.get("total_cost_usd", data.get("cost_usd"))
        meta: dict[str, Any] = {
            "uncached_input_tokens": uncached, "cache_creation_tokens": cache_w, "cache_read_tokens": cache_r,
            "session_id": data.get("session_id"), "duration_ms": data.get("duration_ms"),
            "duration_api_ms": data.get("duration_api_ms"), "num_turns": data.get("num_turns"),
            "subtype": data.get("subtype"),
        }
        if isinstance(data.get("modelUsage"), dict):
            meta["models"] = sorted(data["modelUsage"])
        r = CallResult(
            text=data.get("result") if isinstance(data.get("result"), str) else "",
            tokens_in=_sum(uncached, cache_w, cache_r),
            tokens_out=_int(usage.get("output_tokens")),
            dollars=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
            meta=meta,
        )
        if data.get("is_error") or (data.get("subtype") not in (None, "success")):
            status = data.get("api_error_status")
            msg = data.get("result") if isinstance(data.get("result"), str) and data.get("result") else \
                str(data.get("subtype") or "error")
            if isinstance(status, int):
                msg = f"API error {status}: {msg}"
            kind = classify(msg)
            if isinstance(status, int) and (status == 429 or status >= 500):
                kind = "transient"
            r.failure, r.message, r.text = kind, _one_line(f"claude: {msg}"), ""
        elif data.get("type") not in (None, "result"):
            return CallResult.fail(f"claude: unexpected message type {data.get('type')!r}", "permanent")
        return r


# ------------------------------------------------------------------- gemini
@register_kind("gemini")
class GeminiCliAdapter(CliAdapter):
    """Gemini CLI headless: `gemini --output-format json [-m MODEL] --prompt=USER`, with the task's
    system prompt written to a per-call file named by GEMINI_SYSTEM_MD (it replaces the built-in
    one). A user prompt over 100 kB goes on stdin instead (headless mode reads a non-TTY stdin).

    Parser written against Gemini CLI 0.29-0.30 (docs/cli/headless.md: {session_id, response,
    stats: {models: {NAME: {api, tokens: {input, prompt, candidates, total, cached, thoughts,
    tool}}}}, error: {type, message, code}}; exit 41 = authentication error).
    Input tokens = `prompt` (includes cached); output = `candidates` + `thoughts`.
    """

    kind = "gemini"
    default_binary = "gemini"
    default_concurrency = 2

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        env: dict[str, str] = {}
        if prompt.system.strip():
            sysfile = workdir / "system.md"
            sysfile.write_text(prompt.system, encoding="utf-8")
            env["GEMINI_SYSTEM_MD"] = str(sysfile)
        argv = [self.binary, "--output-format", "json"]
        if self.model:
            argv += ["-m", self.model]
        argv += self.extra_args
        if len(prompt.user.encode("utf-8")) > ARG_LIMIT:  # Linux caps one argument at 128 KiB
            return Invocation(argv, stdin=prompt.user, env=env)  # non-TTY stdin: headless, same prompt
        return Invocation([*argv, f"--prompt={prompt.user}"], stdin="", env=env)

    def parse(self, proc: ProcResult) -> CallResult:
        try:
            data = _json_payload(proc.stdout)
        except ValueError as e:
            if proc.returncode:
                kind = "auth" if proc.returncode == 41 else None
                return CallResult.fail(f"exit {proc.returncode}: {proc.stderr or proc.stdout}", kind)
            return CallResult.fail(f"gemini: {e}", "permanent")
        if not isinstance(data, dict):
            return CallResult.fail("gemini: JSON output is not an object", "permanent")
        err = data.get("error")
        if isinstance(err, dict) or (proc.returncode and "response" not in data):
            e = err if isinstance(err, dict) else {}
            msg = f"{e.get('type', 'Error')}: {e.get('message', proc.stderr)}"
            code = e.get("code")
            kind = classify(f"{msg} {code or ''}")
            if proc.returncode == 41:
                kind = "auth"
            return CallResult.fail(f"gemini: {msg}", kind)
        stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
        models = stats.get("models") if isinstance(stats.get("models"), dict) else {}
        t_in: list[int | None] = []
        t_out: list[int | None] = []
        cached: list[int | None] = []
        thoughts: list[int | None] = []
        for m in models.values():
            tok = m.get("tokens", {}) if isinstance(m, dict) else {}
            t_in.append(_int(tok.get("prompt")))
            t_out.append(_sum(_int(tok.get("candidates")), _int(tok.get("thoughts"))))
            cached.append(_int(tok.get("cached")))
            thoughts.append(_int(tok.get("thoughts")))
        resp = data.get("response")
        if not isinstance(resp, str):
            return CallResult.fail("gemini: JSON output has no `response` string", "permanent")
        return CallResult(text=resp, tokens_in=_sum(*t_in), tokens_out=_sum(*t_out),
                          meta={"models": sorted(models), "cached_tokens": _sum(*cached),
                                "thought_tokens": _sum(*thoughts), "session_id": data.get("session_id")})


# ---------------------------------------------------------------------- llm
USAGE_LINE = re.compile(r"Token usage:\s*(?:(?P<i>[\d,]+) input)?(?:,\s*)?(?:(?P<o>[\d,]+) output)?"
                        r"(?:,\s*(?P<d>\{.*\}))?\s*$", re.MULTILINE)


@register_kind("llm")
class LlmCliAdapter(CliAdapter):
    """Simon Willison's `llm`: `llm prompt -m MODEL -s SYSTEM --no-stream --no-log -u [-o K V]`,
    user text on stdin. Tokens come from the `-u/--usage` line it prints on stderr
    ("Token usage: 1,234 input, 56 output, {details}"), so nothing is written to (or read back
    from) the shared logs.db: `llm logs -n 1` would race between parallel calls.

    Written against llm 0.19-0.27 (`-u/--usage` appeared in 0.19; models whose plugin reports
    no usage leave tokens None -> unpriced).
    """

    kind = "llm"
    default_binary = "llm"
    default_concurrency = 2
    model_required = True
    EXTRA = frozenset({"model_options"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        mo = self._opt("model_options", dict, {})
        self.model_options = {str(k): str(v) for k, v in mo.items()}

    def _fingerprint_extra(self) -> Any:
        return self.model_options

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        argv = [self.binary, "prompt", "-m", str(self.model), "--no-stream", "--no-log", "-u"]
        if prompt.system.strip():
            argv += ["-s", prompt.system]
        for k, v in sorted(self.model_options.items()):
            argv += ["-o", k, v]
        argv += self.extra_args
        return Invocation(argv, stdin=prompt.user)

    def parse(self, proc: ProcResult) -> CallResult:
        err = ANSI.sub("", proc.stderr)
        if proc.returncode:
            return CallResult.fail(f"llm: {err.strip() or proc.stdout.strip() or f'exit {proc.returncode}'}")
        text = proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout
        r = CallResult(text=text)
        found = list(USAGE_LINE.finditer(err))
        m = found[-1] if found else None
        if m is not None:
            r.tokens_in, r.tokens_out = _int(m.group("i")), _int(m.group("o"))
            if m.group("d"):
                try:
                    r.meta["token_details"] = json.loads(m.group("d"))
                except json.JSONDecodeError:
                    pass
        else:
            r.meta["usage"] = "not reported by this model's plugin"
        return r


# ------------------------------------------------------------------- ollama
VERBOSE_STAT = re.compile(r"^(?P<k>total duration|load duration|prompt eval count|prompt eval duration|"
                          r"eval count|eval duration):\s*(?P<v>\S+)", re.MULTILINE)


def _go_duration_s(text: str) -> float | None:
    """Go's time.Duration string (e.g. 2m27.98s, 559.6ms, 891.9µs) -> seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([\d.]+)(ms|us|µs|μs|ns|h|m|s)", text)
    return sum(float(n) * units[u] for n, u in parts) if parts else None


@register_kind("ollama")
class OllamaAdapter(CliAdapter):
    """Ollama, local models. Default transport `cli`: `ollama run MODEL --verbose` with the system
    and user text joined on stdin (the CLI has no system-prompt or sampling flags), token counts
    from the --verbose summary ("prompt eval count: 26 token(s)", "eval count: 298 token(s)").
    Transport `api`: POST http://127.0.0.1:11434/api/generate with `system`, `options`
    (temperature, top_p, seed, num_predict, stop) and stream=false; tokens from prompt_eval_count
    and eval_count. Written against Ollama 0.5-0.12. The model's digest joins the fingerprint.
    """

    kind = "ollama"
    default_binary = "ollama"
    default_concurrency = 1
    default_retries = 2
    remote = False
    pricing_hint = "machine_time"
    model_required = True
    EXTRA = frozenset({"transport", "host"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        self.transport: str = self._opt("transport", str, "cli")
        if self.transport not in ("cli", "api"):
            self._bad("transport", f"unknown transport {self.transport!r}", "use cli or api")
        host = self._opt("host", str, None) or os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434"
        self.host = host if "://" in host else f"http://{host}"
        self._digest: str | None = None

    # availability and identity
    def _http(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
        req = urllib.request.Request(self.host.rstrip("/") + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def _probe_version(self) -> tuple[str | None, str | None]:
        if self.transport == "cli":
            return super()._probe_version()
        try:
            v = self._http("GET", "/api/version", None, 10.0)
            return f"ollama-api {v.get('version', 'unknown')}", None
        except (OSError, ValueError) as e:
            return None, f"ollama: server at {self.host} not reachable ({_one_line(str(e), 120)})"

    def _preflight(self) -> str | None:
        """The model must already be pulled: `ollama run` would otherwise download it."""
        want = str(self.model)
        names: dict[str, str] = {}
        if self.transport == "api":
            try:
                tags = self._http("GET", "/api/tags", None, 10.0)
            except (OSError, ValueError) as e:
                return f"ollama: server at {self.host} not reachable ({_one_line(str(e), 120)})"
            for m in tags.get("models", []):
                names[str(m.get("name"))] = str(m.get("digest", ""))
        else:
            with tempfile.TemporaryDirectory(prefix="sse-ollama-") as tmp:
                r = run_process([shutil.which(self.binary) or self.binary, "list"], "", env=self._env({}),
                                cwd=tmp, timeout_s=30.0)
            if r.returncode != 0 or r.timed_out:
                return f"ollama: `ollama list` failed (is the server running?): {_one_line(r.stderr, 120)}"
            for line in r.stdout.splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 2:
                    names[cols[0]] = cols[1]
        full = want if ":" in want else f"{want}:latest"
        digest = names.get(want) or names.get(full)
        if digest is None:
            return f"ollama: model {want!r} is not pulled here (run `ollama pull {want}`)"
        self._digest = digest
        return None

    def _fingerprint_extra(self) -> Any:
        if self._digest is None:
            self._preflight()
        return {"transport": self.transport, "digest": self._digest}

    # calling
    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        return Invocation([self.binary, "run", str(self.model), "--verbose", *self.extra_args],
                          stdin=_joined(prompt))

    def parse(self, proc: ProcResult) -> CallResult:
        err = ANSI.sub("", proc.stderr)
        if proc.returncode:
            return CallResult.fail(f"ollama: {err.strip() or f'exit {proc.returncode}'}")
        stats = {m.group("k"): m.group("v") for m in VERBOSE_STAT.finditer(err + "\n" + proc.stdout)}
        text = proc.stdout
        cut = text.find("\ntotal duration:")  # should the summary land on stdout
        if cut != -1:
            text = text[:cut]
        r = CallResult(text=text.strip("\n"), tokens_in=_int(stats.get("prompt eval count")),
                       tokens_out=_int(stats.get("eval count")))
        if "total duration" in stats:
            r.meta["total_duration_s"] = _go_duration_s(stats["total duration"])
        if "load duration" in stats:
            r.meta["load_duration_s"] = _go_duration_s(stats["load duration"])
        if not stats:
            r.meta["usage"] = "no --verbose summary found"
        return r

    def call_once(self, prompt: Prompt) -> CallResult:
        if self.transport == "cli":
            return super().call_once(prompt)
        d = prompt.decoding
        body: dict[str, Any] = {
            "model": self.model, "prompt": prompt.user, "system": prompt.system, "stream": False,
            "options": {"temperature": d.temperature, "top_p": d.top_p, "seed": d.seed,
                        "num_predict": d.max_tokens, **({"stop": list(d.stop)} if d.stop else {})},
        }
        timeout = self._timeout(prompt)
        t0 = time.perf_counter()
        try:
            data = self._http("POST", "/api/generate", body, timeout)
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            kind = "transient" if e.code == 429 or e.code >= 500 else None
            r = CallResult.fail(f"ollama: HTTP {e.code}: {detail}", kind or classify(detail))
            if r.failure == "auth":
                r.failure = "permanent"
            r.latency_s = time.perf_counter() - t0
            return r
        except TimeoutError:
            return CallResult(failure="timeout", message=f"ollama: no answer within {timeout:g} s",
                              latency_s=time.perf_counter() - t0)
        except (OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, TimeoutError):
                return CallResult(failure="timeout", message=f"ollama: no answer within {timeout:g} s",
                                  latency_s=time.perf_counter() - t0)
            return CallResult.fail(f"ollama: {reason}", "transient")
        wall = time.perf_counter() - t0
        if not isinstance(data, dict) or not isinstance(data.get("response"), str):
            return CallResult.fail("ollama: API answer has no `response` string", "permanent")
        ns = _int(data.get("total_duration"))
        return CallResult(text=data["response"], tokens_in=_int(data.get("prompt_eval_count")),
                          tokens_out=_int(data.get("eval_count")), latency_s=wall,
                          meta={"total_duration_s": ns / 1e9 if ns is not None else None,
                                "done_reason": data.get("done_reason")})


# ------------------------------------------------------------------ command
@register_kind("command")
class CommandAdapter(CliAdapter):
    """Any executable: the prompt on stdin, the answer on stdout, within a timeout.

    Registry options: `argv` (list, required), `env` (mapping), `timeout_s`, `deterministic`
    (default false: runs are separate samples), `stdin` = "joined" (system + blank line + user,
    default) | "user" | "json" ({"system", "user", "example_id", "run", "temperature",
    "max_tokens", "seed"}), `version_argv` (a command whose output joins the fingerprint),
    `concurrency` (default 1), `retries` (default 0). A non-zero exit is a crash; its CPU time
    (os.wait4) is recorded so the analysis can price it at the machine rate.
    """

    kind = "command"
    default_concurrency = 1
    default_retries = 0
    remote = False
    pricing_hint = "machine_time"
    EXTRA = frozenset({"argv", "deterministic", "stdin", "version_argv"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        argv = self._opt("argv", list, None)
        if not argv or not all(isinstance(a, (str, int, float)) for a in argv):
            self._bad("argv", "the command kind needs `argv`, a non-empty list of strings",
                      "e.g. options: {argv: [python3, my_model.py]}")
        base = Path(spec.registry_file).parent if spec.registry_file else Path.cwd()
        self.argv = [str(a) for a in argv]
        first = self.argv[0]
        if ("/" in first) and not Path(first).is_absolute() and (base / first).exists():
            self.argv[0] = str((base / first).resolve())
        self.binary = self.argv[0]
        self.deterministic: bool = self._opt("deterministic", bool, False)
        self.stdin_mode: str = self._opt("stdin", str, "joined")
        if self.stdin_mode not in ("joined", "user", "json"):
            self._bad("stdin", f"unknown stdin mode {self.stdin_mode!r}", "use joined, user or json")
        va = self._opt("version_argv", list, None)
        self.version_argv = [str(a) for a in va] if va else None
        self.provider = self._opt("provider", str, f"command:{spec.name}")

    def is_stochastic(self, decoding: Decoding) -> bool:
        return not self.deterministic

    def _probe_version(self) -> tuple[str | None, str | None]:
        exe = shutil.which(self.argv[0])
        if exe is None:
            return None, f"command: executable {self.argv[0]!r} not found (fix options.argv of {self.spec.name})"
        parts = [f"sha:{file_key(exe)}"]
        if self.spec.version:
            parts.append(f"version:{self.spec.version}")
        if self.version_argv:
            with tempfile.TemporaryDirectory(prefix="sse-ver-") as tmp:
                r = run_process(self.version_argv, "", env=self._env({}), cwd=tmp, timeout_s=30.0)
            if r.returncode != 0 or r.timed_out or r.spawn_error:
                return None, f"command: version_argv failed: {r.spawn_error or _one_line(r.stderr, 120)}"
            parts.append(_one_line(r.stdout, 200))
        return " ".join(parts), None

    def fingerprint(self) -> str:
        return content_key("command-system", self.argv, self.version() or "unavailable", self.stdin_mode,
                           sorted(self.extra_env.items()))

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        if self.stdin_mode == "user":
            data = prompt.user
        elif self.stdin_mode == "json":
            d = prompt.decoding
            data = json.dumps({"system": prompt.system, "user": prompt.user, "example_id": prompt.example.id,
                               "run": prompt.run, "temperature": d.temperature, "max_tokens": d.max_tokens,
                               "seed": d.seed})
        else:
            data = _joined(prompt)
        return Invocation(list(self.argv), stdin=data)

    def parse(self, proc: ProcResult) -> CallResult:
        if proc.returncode:
            return CallResult.fail(
                f"command exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip() or 'no output'}",
                "permanent")
        return CallResult(text=proc.stdout)
