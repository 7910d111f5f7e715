"""Claude Code in print mode (kind `claude`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sse.core.proc import ProcResult
from sse.systems.base import register_kind
from sse.systems.clis.adapter import CliAdapter
from sse.systems.clis.outcome import CallResult, Invocation, as_int, classify, json_payload, one_line, total
from sse.task.spec import Prompt, SystemSpec

KEY_VARS = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")


@register_kind("claude")
class ClaudeCodeAdapter(CliAdapter):
    """`claude -p --output-format json --system-prompt SYS --max-turns 1`, user text on stdin,
    run with a per-call CLAUDE_CONFIG_DIR when credentials can be copied.

    Checked against Claude Code 2.1.197 (2026-12-01): not logged in, it prints a result object
    with `is_error: true`, `result: "Not logged in · Please run /login"` and exits 1 within
    seconds; with a key but no route to the API it prints nothing and retries until killed
    (so a silent timeout is probed: see CliAdapter._diagnose_timeout). Result object:
    type/subtype/is_error/result/total_cost_usd/usage{input_tokens, output_tokens,
    cache_creation_input_tokens, cache_read_input_tokens}/modelUsage/api_error_status; the
    older 1.0.x shape (`cost_usd`) and the JSON array of messages are accepted too.
    """

    kind = "claude"
    default_binary = "claude"
    default_concurrency = 2
    EXTRA = frozenset({"isolate_config", "max_turns"})
    service_urls = ("https://api.anthropic.com",)

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        self.isolate: bool | None = self._opt("isolate_config", bool, None)
        self.max_turns: int = self._opt("max_turns", int, 1)

    def _default_service(self) -> tuple[str, ...]:
        base = self.extra_env.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_BASE_URL")
        return (base,) if base else self.service_urls

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
        has_key = any(os.environ.get(k) or self.extra_env.get(k) for k in KEY_VARS)
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

    def parse(self, result: ProcResult) -> CallResult:
        try:
            data = json_payload(result.out_text)
        except ValueError as e:
            if result.returncode:
                return CallResult.fail(f"claude: exit {result.returncode}: {result.err_text or result.out_text}")
            return CallResult.fail(f"claude: {e}", "permanent")
        if isinstance(data, list):
            results = [m for m in data if isinstance(m, dict) and m.get("type") == "result"]
            if not results:
                return CallResult.fail("claude: JSON array without a result message", "permanent")
            data = results[-1]
        if not isinstance(data, dict):
            return CallResult.fail("claude: JSON output is not an object", "permanent")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        cache_w = as_int(usage.get("cache_creation_input_tokens"))
        cache_r = as_int(usage.get("cache_read_input_tokens"))
        uncached = as_int(usage.get("input_tokens"))
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
            tokens_in=total(uncached, cache_w, cache_r),
            tokens_out=as_int(usage.get("output_tokens")),
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
            r.failure, r.message, r.text = kind, one_line(f"claude: {msg}"), ""
            if not r.dollars:
                r.dollars = None  # a failed call reports 0: nothing was spent, nothing to attribute
        elif data.get("type") not in (None, "result"):
            return CallResult.fail(f"claude: unexpected message type {data.get('type')!r}", "permanent")
        return r
