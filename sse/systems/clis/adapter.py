"""The machinery every CLI-driven system shares: options, locality, calling, retries, skips.

Each call is one subprocess (sse.core.proc.run) in its own temporary working directory, with
a timeout that kills the whole process group, bounded retries with exponential backoff on
transient failures, a per-provider concurrency limit, and the shared dollar budget of
`sse.systems.budget`. A per-prompt failure never raises: the Completion says what went wrong.

Whether a system can run at all is decided here, by the adapter, not before the first call:
a missing binary or a failed `--version` is known up front (`unavailable_reason()`); a login
or configuration failure, or the first `EARLY_CALLS` calls all failing the same
infrastructural way, is only known after calling. Then every remaining prompt comes back
with `error_kind: "skipped"` and the reason as its `error`; the run layer reads that as "this
system is skipped" (plain data, so it crosses process and cluster boundaries).
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from sse.core import proc
from sse.core.errors import ConfigError
from sse.core.records import Completion
from sse.core.store import content_key
from sse.systems.base import AdapterBase
from sse.systems.budget import Budget
from sse.systems.clis.outcome import ANSI, NETWORK, CallResult, Invocation, env_with, one_line, unreachable
from sse.task.spec import Decoding, Prompt, SystemSpec

MAX_CAPTURE = 8 << 20  # bytes kept of a tool's stdout + stderr
EARLY_CALLS = 3  # this many first calls failing the same infrastructural way skip the system
RETRIED = frozenset({"transient", "unreachable"})

_PROVIDER_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def provider_slots(provider: str, n: int) -> threading.BoundedSemaphore:
    """One semaphore per provider per process: two systems of one provider share its limit."""
    with _SLOTS_LOCK:
        if provider not in _PROVIDER_SLOTS:
            _PROVIDER_SLOTS[provider] = threading.BoundedSemaphore(max(1, n))
        return _PROVIDER_SLOTS[provider]


def _same_way(message: str) -> str:
    """A failure's shape without its incidental numbers and ids, to see that calls fail alike."""
    return re.sub(r"[0-9a-f]{8,}|\d+", "#", message.lower())[:160]


def joined(prompt: Prompt) -> str:
    """System and user text as one message, for tools without a system-prompt channel."""
    return f"{prompt.system.strip()}\n\n{prompt.user}" if prompt.system.strip() else prompt.user


class CliAdapter(AdapterBase):
    """Shared machinery; subclasses say how to invoke the tool and how to read its answer."""

    kind: ClassVar[str] = ""
    default_binary: ClassVar[str] = ""
    default_concurrency: ClassVar[int] = 2
    default_retries: ClassVar[int] = 3
    default_local: ClassVar[bool] = False  # where the model runs, unless `local:` says otherwise
    can_be_local: ClassVar[bool] = False  # whether `local:` may be declared for this kind
    model_required: ClassVar[bool] = False
    service_urls: ClassVar[tuple[str, ...]] = ()  # what a remote tool talks to (for the connect probe)
    COMMON: ClassVar[frozenset[str]] = frozenset({
        "binary", "model", "timeout_s", "retries", "backoff_s", "max_backoff_s", "concurrency",
        "env", "extra_args", "provider", "price_model", "service_url"})
    EXTRA: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        self.spec = spec
        self.task = task
        opts = dict(spec.options or {})
        allowed = self.COMMON | self.EXTRA | ({"local"} if self.can_be_local else frozenset())
        for k in opts:
            if k not in allowed:
                fix = f"use one of: {', '.join(sorted(allowed))}"
                if k == "local":
                    fix = f"{self.kind} is always remote; drop `local`"
                self._bad(k, f"unknown option {k!r}", fix)
        self.opts = opts
        self.local: bool = self._opt("local", bool, self.default_local)
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
        service = self._opt("service_url", str, None)
        self.service: tuple[str, ...] = (service,) if service else self._default_service()
        # the price-table row to use when the tool reports no dollars (e.g. model "sonnet" -> "claude-sonnet-4-5")
        self.price_model: str | None = self._opt("price_model", str, None) or (None if self.local else self.model)
        self._check_pricing()
        self.pricing_hint = "machine_time" if self.local else "tokens"
        self.batch_size = max(4, 2 * self.concurrency)  # prompts per generate() call the pipeline sends
        self._version: str | None = None
        self._version_error: str | None = None
        self._probed = False
        self._skip_reason: str | None = None
        self._early: list[str | None] = []
        self._unreachable = False
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    # ---------------------------------------------------------------- options
    def _bad(self, key: str, message: str, fix: str, where: str = "options.") -> None:
        raise ConfigError(message, file=self.spec.registry_file or None,
                          field=f"systems.{self.spec.name}.{where}{key}", fix=fix)

    def _opt(self, key: str, typ: type | tuple[type, ...], default: Any) -> Any:
        if key not in self.opts or self.opts[key] is None:
            return default
        v = self.opts[key]
        types = typ if isinstance(typ, tuple) else (typ,)
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            self._bad(key, f"expected {names}, got {type(v).__name__} {v!r}"[:160], f"give {names}")
        return v

    def _check_pricing(self) -> None:
        """A local system is priced by machine time: registry prices would be silently unused."""
        if not self.local:
            return
        p = self.spec.prices
        if any(v is not None for v in (p.input_per_mtok, p.output_per_mtok)):
            self._bad("prices", "a local system is priced by measured machine time (the task's "
                      "machine_price_per_hour); registry prices would never be used",
                      "remove `prices:`, or declare `options: {local: false}` if the model runs remotely",
                      where="")
        if "price_model" in self.opts:
            self._bad("price_model", "a local system is priced by machine time, not by a price-table row",
                      "remove price_model, or declare local: false")

    def _default_service(self) -> tuple[str, ...]:
        return () if self.local else self.service_urls

    # --------------------------------------------------------------- protocol
    def is_stochastic(self, decoding: Decoding) -> bool:
        """A CLI model is never reproducible: every run is its own sample."""
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
            r = proc.run([exe, "--version"], env=self._env({}), cwd=tmp, timeout_s=30.0)
        if r.spawn_error or r.timed_out or r.returncode != 0:
            why = r.spawn_error or ("timed out" if r.timed_out else one_line(r.err_text or r.out_text, 160))
            return None, f"{self.kind}: `{self.binary} --version` failed: {why}"
        lines = [ln.strip() for ln in ANSI.sub("", r.out_text + "\n" + r.err_text).splitlines() if ln.strip()]
        good = [ln for ln in lines if not ln.lower().startswith("warning")]
        return ((good or lines or ["unknown"])[-1 if self.kind == "ollama" else 0]), None

    def fingerprint(self) -> str:
        return content_key("cli-system", self.kind, self.binary, self.version() or "unavailable",
                           self.spec.version, self.model, self.extra_args, self._fingerprint_extra())

    def _fingerprint_extra(self) -> Any:
        return None

    def unavailable_reason(self) -> str | None:
        """Why this system cannot run: known up front (binary, version, preflight), or decided
        by earlier calls of this adapter (login, configuration, the first calls all failing)."""
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
        env = env_with(self.extra_env)
        env.update(extra)
        env.setdefault("NO_COLOR", "1")
        return env

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse(self, result: proc.ProcResult) -> CallResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _timeout(self, prompt: Prompt) -> float:
        return float(self.timeout_s if self.timeout_s is not None else prompt.decoding.timeout_s)

    def _diagnose_timeout(self, r: proc.ProcResult, timeout: float) -> CallResult:
        """Nothing came back in time: a slow model (its failure), or a service never reached
        (infrastructure). Output on stdout means the service answered; connection errors on
        stderr, or a failed connect probe, mean it was not reached."""
        slow = CallResult(failure="timeout", message=f"{self.kind}: no answer within {timeout:g} s")
        if self.local or r.stdout.strip():
            return slow
        err = ANSI.sub("", r.err_text)
        m = NETWORK.search(err)
        line = err[err.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0] if m else ""
        why = f"connection errors on stderr ({one_line(line, 160)})" if m else unreachable(self.service, self._env({}))
        if why is None:
            return slow
        return CallResult(failure="unreachable", message=f"{self.kind}: service not reached within {timeout:g} s: "
                                                         f"{why}", meta={"probed": True})

    def call_once(self, prompt: Prompt) -> CallResult:
        """One attempt, in a fresh temporary working directory."""
        if self._unreachable and not self.local:  # an earlier call found no service: probe before paying a timeout
            why = unreachable(self.service, self._env({}))
            if why is not None:
                return CallResult(failure="unreachable", message=f"{self.kind}: service not reachable: {why}",
                                  meta={"probed": True})
            self._unreachable = False
        timeout = self._timeout(prompt)
        with tempfile.TemporaryDirectory(prefix=f"sse-{self.kind}-") as tmp:
            work = Path(tmp)
            inv = self.build(prompt, work)
            exe = shutil.which(inv.argv[0]) or inv.argv[0]
            r = proc.run([exe, *inv.argv[1:]], stdin=inv.stdin, env=self._env(inv.env), cwd=work,
                         timeout_s=timeout, max_output_bytes=MAX_CAPTURE)
        if r.spawn_error:
            res = CallResult(failure="config" if not shutil.which(inv.argv[0]) else "permanent",
                             message=f"{self.kind}: {r.spawn_error}")
        elif r.timed_out:
            res = self._diagnose_timeout(r, timeout)
        elif r.output_capped:
            res = CallResult.fail(f"{self.kind}: output over {MAX_CAPTURE >> 20} MiB", "permanent")
        else:
            try:
                res = self.parse(r)
            except Exception as e:  # a parser bug must not sink the evaluation
                res = CallResult.fail(f"{self.kind}: could not read output: {e}", "permanent")
        if res.failure == "unreachable":
            self._unreachable = True
        res.latency_s = r.wall_s
        if res.cpu_s is None:
            res.cpu_s = self._cpu_s(r)
        if res.ttft_s is None and r.first_stdout_s is not None and self._streams():
            res.ttft_s = r.first_stdout_s
        return res

    def _cpu_s(self, r: proc.ProcResult) -> float | None:
        """CPU seconds of the tool's process tree (for a remote system: the client's own work)."""
        return r.cpu_s

    def _streams(self) -> bool:
        """True when the tool writes its answer as it is generated (stdout's first byte ~ TTFT)."""
        return False

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        return base * (0.5 + random.random() / 2)

    def _budget_dollars(self, r: CallResult) -> float:
        """What this call cost for the budget: the provider's figure, else tokens x the
        registry's prices when both are known, else 0 (unpriced calls cannot be capped)."""
        if r.dollars is not None:
            return r.dollars
        p = self.spec.prices
        t_in = (r.tokens_in or 0) + int(r.meta.get("utility_tokens_in") or 0)  # a cap errs on the safe side
        t_out = (r.tokens_out or 0) + int(r.meta.get("utility_tokens_out") or 0)
        if r.tokens_in is not None and r.tokens_out is not None and p.input_per_mtok is not None \
                and p.output_per_mtok is not None:
            return (t_in * p.input_per_mtok + t_out * p.output_per_mtok) / 1e6
        return 0.0

    def _completion(self, prompt: Prompt, **kw: Any) -> Completion:
        meta = {"kind": self.kind, "tool_version": self._version, "priced_by": self.pricing_hint,
                "local": self.local}
        meta.update(kw.pop("meta", {}) or {})
        return Completion(system=self.spec.name, example_id=prompt.example.id, run=prompt.run, meta=meta,
                          **kw)

    def _skipped(self, prompt: Prompt, reason: str) -> Completion:
        return self._completion(prompt, text="", error=reason, error_kind="skipped")

    def _settle(self, r: CallResult) -> None:
        """Decide from this call whether the whole system is unusable here."""
        with self._lock:
            if self._skip_reason:
                return
            if r.failure in ("auth", "config"):
                label = "cannot authenticate" if r.failure == "auth" else "configuration error"
                msg = r.message if r.message.startswith(f"{self.kind}:") else f"{self.kind}: {r.message}"
                self._skip_reason = one_line(f"{label}: {msg}", 240)
                return
            if len(self._early) >= EARLY_CALLS:
                return
            self._early.append(None if r.failure in (None, "timeout") else
                               "unreachable" if r.failure == "unreachable" else _same_way(r.message))
            if len(self._early) == EARLY_CALLS:
                self._all_alike(r.message)

    def _all_alike(self, message: str) -> None:
        """Skip when every early call failed, and failed the same way (caller holds the lock)."""
        if self._early and self._early[0] is not None and len(set(self._early)) == 1:
            n = len(self._early)
            calls = f"the first {n} calls all failed the same way" if n > 1 else "the only call failed"
            self._skip_reason = one_line(f"infrastructure: {calls}: {message}", 240)

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
            with provider_slots(self.provider, self.concurrency):
                for attempt in range(self.retries + 1):
                    if self._skip_reason:
                        break
                    attempts += 1
                    try:
                        r = self.call_once(prompt)
                    except Exception as e:  # harness bug: this prompt fails, the evaluation goes on
                        r = CallResult.fail(f"{self.kind}: {type(e).__name__}: {e}", "permanent")
                    if r.dollars is not None:
                        spent = (spent or 0.0) + r.dollars
                    if r.failure not in RETRIED or r.meta.get("probed") or attempt == self.retries:
                        break
                    self.sleep(self._backoff(attempt))
        finally:
            charged = spent if spent is not None else self._budget_dollars(r)
            if budget is not None:
                budget.charge(self.spec.name, charged, reserved=est or 0.0)
        self._settle(r)
        meta = dict(r.meta)
        if spent is None and charged:
            meta["budget_dollars"] = charged  # registry prices x tokens; the analysis prices for real
        meta["attempts"] = attempts
        meta["total_s"] = round(time.perf_counter() - t0, 6)
        if r.failure:
            meta["failure"] = r.failure
        common = dict(tokens_in=r.tokens_in, tokens_out=r.tokens_out, latency_s=r.latency_s, cpu_s=r.cpu_s,
                      ttft_s=r.ttft_s, dollars=spent, cost_source="provider" if spent is not None else "unpriced")
        if r.failure is None:
            return self._completion(prompt, text=r.text, meta=meta, **common)
        if r.failure in ("auth", "config"):
            return self._completion(prompt, text="", error=self._skip_reason or r.message, error_kind="skipped",
                                    meta=meta, **common)
        kind = "timeout" if r.failure == "timeout" else "crash"  # crash = harness/infrastructure, excluded
        msg = f"{r.message} (gave up after {attempts} attempts)" if r.failure in RETRIED and attempts > 1 \
            else r.message
        return self._completion(prompt, text="", error=msg, error_kind=kind, meta=meta, **common)

    def generate(self, prompts: list[Prompt]) -> list[Completion]:
        """One Completion per prompt, in order. Never raises for a per-prompt failure. When the
        adapter decides mid-batch that the system cannot run here, every failed prompt of the
        batch carries error_kind "skipped" and the reason, so the caller sees the skip in the
        very batch that decided it."""
        if not prompts:
            return []
        reason = self.unavailable_reason()
        if reason:
            return [self._skipped(p, reason) for p in prompts]
        budget = Budget.from_env()
        if self.concurrency == 1 or len(prompts) == 1:
            out = [self.run_prompt(p, budget) for p in prompts]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts)),
                                    thread_name_prefix=f"sse-{self.kind}") as pool:
                out = list(pool.map(lambda p: self.run_prompt(p, budget), prompts))
        with self._lock:  # a workload smaller than EARLY_CALLS, and no service reached by any of it
            if not self._skip_reason and len(self._early) == len(prompts) < EARLY_CALLS \
                    and self._early[0] == "unreachable":
                last = next((c.error for c in reversed(out) if c.error), "")
                self._all_alike(last or "")
        if self._skip_reason:
            why = self._skip_reason
            out = [c if c.error is None or c.error_kind == "budget" else
                   Completion(**{**c.to_dict(), "error": why, "error_kind": "skipped"}) for c in out]
        return out
