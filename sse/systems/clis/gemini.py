"""Gemini CLI in headless mode (kind `gemini`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sse.core.proc import ProcResult
from sse.systems.base import register_kind
from sse.systems.clis.adapter import CliAdapter
from sse.systems.clis.outcome import ANSI, CallResult, Invocation, as_int, classify, json_payload, total
from sse.task.spec import Prompt

ARG_LIMIT = 100_000  # bytes of prompt passed as one argv element; longer goes on stdin
MAIN_ROLES = frozenset({"main", "subagent"})  # roles whose tokens are the answer; the rest are utilities
EXIT_AUTH, EXIT_UNTRUSTED = 41, 55


def _tokens(tok: Any) -> tuple[int | None, int | None, int | None, int | None]:
    """(input incl. cached, output incl. thoughts, cached, thoughts) of one stats `tokens` block."""
    tok = tok if isinstance(tok, dict) else {}
    thoughts = as_int(tok.get("thoughts"))
    return (as_int(tok.get("prompt")), total(as_int(tok.get("candidates")), thoughts),
            as_int(tok.get("cached")), thoughts)


@register_kind("gemini")
class GeminiCliAdapter(CliAdapter):
    """`gemini --output-format json [-m MODEL] --prompt=USER`, the task's system prompt in a
    per-call file named by GEMINI_SYSTEM_MD (it replaces the built-in one); a user prompt over
    100 kB goes on stdin instead (headless mode reads a non-TTY stdin).

    Checked against Gemini CLI 0.61.0 (2026-12-01), and written for 0.29-0.30 before:
    - every call runs in a fresh folder, which 0.61 refuses headless (exit 55, plain text on
      stderr) unless it is trusted: GEMINI_CLI_TRUST_WORKSPACE=true is set (older versions
      ignore the variable, whereas an unknown `--skip-trust` flag would break them);
    - errors are JSON on stderr in 0.61 ({session_id, error: {type, message, code}}), on stdout
      in 0.30: both are read; exit 41 = authentication;
    - `stats.models.NAME.roles.ROLE.tokens` (0.61) splits each model's tokens by role: `main`
      (and `subagent`) are the answer, priced as the system's model; router, classifier and
      other utility calls (often another, cheaper model) are reported apart in
      meta.utility_tokens and never priced as the main model. Without `roles` (0.30) the model
      named in options.model, else the one that wrote the most output, is the main one.
    - with a key but no route to the API it retries without end, logging "fetch failed" on
      stderr: a timeout with that, or with a failed connect probe, is infrastructure.
    """

    kind = "gemini"
    default_binary = "gemini"
    default_concurrency = 2
    service_urls = ("https://generativelanguage.googleapis.com", "https://cloudcode-pa.googleapis.com")

    def _default_service(self) -> tuple[str, ...]:
        base = self.extra_env.get("GOOGLE_GEMINI_BASE_URL") or os.environ.get("GOOGLE_GEMINI_BASE_URL")
        return (base,) if base else self.service_urls

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        env: dict[str, str] = {"GEMINI_CLI_TRUST_WORKSPACE": "true"}
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

    def _payload(self, result: ProcResult) -> Any:
        """The JSON object on stdout (answers, 0.30 errors) or, failing that, on stderr (0.61 errors)."""
        try:
            return json_payload(result.out_text)
        except ValueError:
            if not result.stderr.strip():
                raise
            return json_payload(ANSI.sub("", result.err_text))

    def parse(self, result: ProcResult) -> CallResult:
        rc = result.returncode
        try:
            data = self._payload(result)
        except ValueError as e:
            if rc:
                kind = {EXIT_AUTH: "auth", EXIT_UNTRUSTED: "config"}.get(rc)
                return CallResult.fail(f"gemini: exit {rc}: {result.err_text or result.out_text}", kind)
            return CallResult.fail(f"gemini: {e}", "permanent")
        if not isinstance(data, dict):
            return CallResult.fail("gemini: JSON output is not an object", "permanent")
        err = data.get("error")
        if isinstance(err, dict) or (rc and "response" not in data):
            e = err if isinstance(err, dict) else {}
            msg = f"{e.get('type', 'Error')}: {e.get('message', result.err_text)}"
            kind = "auth" if rc == EXIT_AUTH or e.get("code") == EXIT_AUTH else classify(f"{msg} {e.get('code') or ''}")
            return CallResult.fail(f"gemini: {msg}", kind)
        resp = data.get("response")
        if not isinstance(resp, str):
            return CallResult.fail("gemini: JSON output has no `response` string", "permanent")
        return self._accounted(resp, data)

    def _accounted(self, resp: str, data: dict[str, Any]) -> CallResult:
        stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
        models = stats.get("models") if isinstance(stats.get("models"), dict) else {}
        rows: list[tuple[str, str, tuple[int | None, ...]]] = []  # (model, role, tokens)
        by_roles = any(isinstance(m, dict) and m.get("roles") for m in models.values())
        for name, m in models.items():
            m = m if isinstance(m, dict) else {}
            roles = m.get("roles") if isinstance(m.get("roles"), dict) else {}
            if by_roles:
                rows += [(str(name), str(role), _tokens(rm.get("tokens") if isinstance(rm, dict) else None))
                         for role, rm in roles.items()]
            else:
                rows.append((str(name), "", _tokens(m.get("tokens"))))
        if not by_roles and rows:
            main_name = self.model if any(n == self.model for n, _, _ in rows) else \
                max(rows, key=lambda r: r[2][1] or 0)[0]
            rows = [(n, "main" if n == main_name else "utility (guessed: no roles in stats)", t)
                    for n, _, t in rows]
        main = [r for r in rows if r[1] in MAIN_ROLES]
        util = [r for r in rows if r[1] not in MAIN_ROLES]
        meta: dict[str, Any] = {
            "models": sorted(models), "main_models": sorted({n for n, _, _ in main}),
            "cached_tokens": total(*(t[2] for _, _, t in main)),
            "thought_tokens": total(*(t[3] for _, _, t in main)), "session_id": data.get("session_id"),
        }
        if util:
            meta["utility_tokens"] = [{"model": n, "role": role, "input": t[0], "output": t[1]} for n, role, t in util]
            meta["utility_tokens_in"] = total(*(t[0] for _, _, t in util))
            meta["utility_tokens_out"] = total(*(t[1] for _, _, t in util))
        if len(meta["main_models"]) == 1 and not self.model:
            meta["main_model"] = meta["main_models"][0]  # what to price when options.model is unset
        return CallResult(text=resp, tokens_in=total(*(t[0] for _, _, t in main)),
                          tokens_out=total(*(t[1] for _, _, t in main)), meta=meta)
