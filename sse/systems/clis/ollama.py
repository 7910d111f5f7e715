"""Ollama (kind `ollama`): local models through its CLI or its HTTP API."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sse.core import proc
from sse.core.proc import ProcResult
from sse.systems.base import register_kind
from sse.systems.clis.adapter import CliAdapter, joined
from sse.systems.clis.outcome import ANSI, CallResult, Invocation, as_int, classify, one_line
from sse.task.spec import Prompt, SystemSpec

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

    Local by default: the model runs in the ollama server, not in the `ollama run` client, so
    the client's CPU seconds say nothing about the model's; cpu_s is left unknown and the
    analysis prices the wall time. `local: false` for a server on another machine (then
    `prices:` apply and a silent timeout is probed against `host`).
    """

    kind = "ollama"
    default_binary = "ollama"
    default_concurrency = 1
    default_retries = 2
    default_local = True
    can_be_local = True
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
        if not self.local and "service_url" not in self.opts:
            self.service = (self.host,)

    def _cpu_s(self, r: ProcResult) -> float | None:
        return None  # the client's CPU is not the model's (it runs in the server)

    def _streams(self) -> bool:
        return True  # `ollama run` prints tokens as they come

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
            return None, f"ollama: server at {self.host} not reachable ({one_line(str(e), 120)})"

    def _preflight(self) -> str | None:
        """The model must already be pulled: `ollama run` would otherwise download it."""
        want = str(self.model)
        names: dict[str, str] = {}
        if self.transport == "api":
            try:
                tags = self._http("GET", "/api/tags", None, 10.0)
            except (OSError, ValueError) as e:
                return f"ollama: server at {self.host} not reachable ({one_line(str(e), 120)})"
            for m in tags.get("models", []):
                names[str(m.get("name"))] = str(m.get("digest", ""))
        else:
            with tempfile.TemporaryDirectory(prefix="sse-ollama-") as tmp:
                r = proc.run([shutil.which(self.binary) or self.binary, "list"], env=self._env({}), cwd=tmp,
                             timeout_s=30.0)
            if r.returncode != 0 or r.timed_out:
                return f"ollama: `ollama list` failed (is the server running?): {one_line(r.err_text, 120)}"
            for line in r.out_text.splitlines()[1:]:
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
                          stdin=joined(prompt))

    def parse(self, result: ProcResult) -> CallResult:
        err = ANSI.sub("", result.err_text)
        if result.returncode:
            return CallResult.fail(f"ollama: {err.strip() or f'exit {result.returncode}'}")
        stats = {m.group("k"): m.group("v") for m in VERBOSE_STAT.finditer(err + "\n" + result.out_text)}
        text = result.out_text
        cut = text.find("\ntotal duration:")  # should the summary land on stdout
        if cut != -1:
            text = text[:cut]
        r = CallResult(text=text.strip("\n"), tokens_in=as_int(stats.get("prompt eval count")),
                       tokens_out=as_int(stats.get("eval count")))
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
            return CallResult.fail(f"ollama: {reason}", "unreachable")  # retried; infrastructure if it lasts
        wall = time.perf_counter() - t0
        if not isinstance(data, dict) or not isinstance(data.get("response"), str):
            return CallResult.fail("ollama: API answer has no `response` string", "permanent")
        ns = as_int(data.get("total_duration"))
        return CallResult(text=data["response"], tokens_in=as_int(data.get("prompt_eval_count")),
                          tokens_out=as_int(data.get("eval_count")), latency_s=wall,
                          meta={"total_duration_s": ns / 1e9 if ns is not None else None,
                                "done_reason": data.get("done_reason")})
