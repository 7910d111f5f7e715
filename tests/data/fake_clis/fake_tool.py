"""Stand-ins for `claude`, `gemini`, `llm` and `ollama` that print the tools' documented output.

Installed by tests as tiny executables on PATH that call `main(TOOL)`. Behaviour:
  FAKE_MODE   ok | error | ratelimit_once | ratelimit_always | malformed | slow | auth
              (a prompt containing `MODE=<mode>` overrides it for that call)
  FAKE_STATE  folder for call logs (calls.jsonl) and rate-limit counters
  FAKE_COST   dollars `claude` reports per call (default 0.0125)
  FAKE_VERSION  what `claude --version` reports (default 2.1.59)
  FAKE_ARRAY  1: `claude` prints the JSON array of messages instead of the result object
  FAKE_GEMINI 0.61: `gemini` behaves as 0.61 (refuses an untrusted folder with exit 55, errors as
              JSON on stderr, per-role token stats with a utility router model); else 0.30
  FAKE_LLM_NO_OPTIONS  1: `llm` refuses every `-o` option like a plugin without options
Modes beyond the list: `netdown` (gemini/claude: no route to the API; gemini logs "fetch failed"
on stderr and retries until killed, claude stays silent), `nousage` (llm: an empty usage line).
Shapes follow: Claude Code 2.1.x `-p --output-format json`; Gemini CLI 0.30 and 0.61 headless
JSON; llm 0.27-0.36 `--usage` line; Ollama 0.12 `run --verbose` summary. Only the standard library.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
import uuid

TEXT = "```rust\nfn answer() -> i64 {{ {n} }}\n```\n// from {tool}"


def _state() -> str:
    d = os.environ.get("FAKE_STATE") or os.getcwd()
    os.makedirs(d, exist_ok=True)
    return d


def _log(tool: str, argv: list[str], stdin: str, extra: dict) -> None:
    rec = {"tool": tool, "argv": argv, "stdin": stdin, "cwd": os.getcwd(), "pid": os.getpid(), **extra,
           "env": {k: os.environ.get(k) for k in ("CLAUDE_CONFIG_DIR", "GEMINI_SYSTEM_MD", "NO_COLOR",
                                                   "FAKE_EXTRA")}}
    line = (json.dumps(rec) + "\n").encode()
    fd = os.open(os.path.join(_state(), "calls.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _mode(prompt: str) -> str:
    m = re.search(r"MODE=(\w+)", prompt)
    return m.group(1) if m else os.environ.get("FAKE_MODE", "ok")


def _rate_limited(mode: str, prompt: str, tool: str) -> bool:
    if mode == "ratelimit_always":
        return True
    if mode != "ratelimit_once":
        return False
    marker = os.path.join(_state(), "rl-" + hashlib.sha1((tool + prompt).encode()).hexdigest())
    if os.path.exists(marker):
        return False
    open(marker, "w").close()
    return True


def _words(s: str) -> int:
    return len(s.split())


def _answer(tool: str, prompt: str) -> str:
    return TEXT.format(n=_words(prompt), tool=tool)


# ---------------------------------------------------------------- claude
def claude(argv: list[str]) -> int:
    if "--version" in argv:
        print(os.environ.get("FAKE_VERSION", "2.1.59") + " (Claude Code)")
        return 0
    stdin = sys.stdin.read()
    system = next((a.split("=", 1)[1] for a in argv if a.startswith("--system-prompt=")), "")
    _log("claude", argv, stdin, {"system": system})
    mode = _mode(stdin)
    if mode in ("slow", "netdown"):
        time.sleep(30)
    sid = str(uuid.uuid4())
    n_in = _words(system) + _words(stdin)
    base = {"type": "result", "subtype": "success", "is_error": False, "api_error_status": None,
            "duration_ms": 1200, "duration_api_ms": 1100, "num_turns": 1, "stop_reason": "end_turn",
            "session_id": sid, "permission_denials": [], "uuid": str(uuid.uuid4())}
    zero_usage = {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 0}
    if mode == "malformed":
        sys.stdout.write('{"type":"result","subtype":"success","is_error":false,"result":"fn ma')
        return 0
    if mode == "auth":
        out = {**base, "is_error": True, "result": "Invalid API key · Please run /login", "total_cost_usd": 0,
               "usage": zero_usage}
        print(json.dumps(out))
        return 1
    if _rate_limited(mode, stdin, "claude"):
        msg = ('API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request '
               'would exceed your account\'s rate limit. Please try again later."}}')
        out = {**base, "is_error": True, "api_error_status": 429, "result": msg, "total_cost_usd": 0,
               "usage": zero_usage}
        print(json.dumps(out))
        return 1
    if mode == "error":
        msg = ('API Error: 400 {"type":"error","error":{"type":"invalid_request_error",'
               '"message":"prompt is too long: 212000 tokens > 200000 maximum"}}')
        out = {**base, "is_error": True, "api_error_status": 400, "result": msg, "total_cost_usd": 0,
               "usage": zero_usage}
        print(json.dumps(out))
        return 1
    cost = float(os.environ.get("FAKE_COST", "0.0125"))
    out = {**base, "result": _answer("claude", stdin), "total_cost_usd": cost,
           "usage": {"input_tokens": n_in, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000,
                     "output_tokens": 17, "server_tool_use": {"web_search_requests": 0},
                     "service_tier": "standard"},
           "modelUsage": {"claude-sonnet-4-5-20250929": {"inputTokens": n_in, "outputTokens": 17,
                                                          "cacheReadInputTokens": 2000,
                                                          "cacheCreationInputTokens": 100, "costUSD": cost}}}
    if os.environ.get("FAKE_ARRAY") == "1":
        init = {"type": "system", "subtype": "init", "session_id": sid, "model": "claude-sonnet-4-5",
                "tools": []}
        print(json.dumps([init, out]))
    else:
        print(json.dumps(out))
    return 0


# ---------------------------------------------------------------- gemini
def gemini(argv: list[str]) -> int:
    new = os.environ.get("FAKE_GEMINI") == "0.61"
    if "--version" in argv:
        print("0.61.0" if new else "0.30.0")
        return 0
    if new and os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") != "true" and "--skip-trust" not in argv:
        sys.stderr.write("\x1b[31mGemini CLI is not running in a trusted directory. To proceed, either use "
                         "`--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust "
                         "this directory in interactive mode.\x1b[0m\n")
        return 55
    out_stream = sys.stderr if new else sys.stdout  # 0.61 writes JSON errors to stderr
    prompt = next((a.split("=", 1)[1] for a in argv if a.startswith("--prompt=")), None)
    if prompt is None:  # headless mode reads a non-TTY stdin as the prompt
        prompt = sys.stdin.read()
    sys_path = os.environ.get("GEMINI_SYSTEM_MD")
    system = open(sys_path, encoding="utf-8").read() if sys_path else ""
    _log("gemini", argv, prompt, {"system": system})
    mode = _mode(prompt)
    if mode == "slow":
        time.sleep(30)
    if mode == "netdown":
        for i in range(1, 60):
            sys.stderr.write(f"Attempt {i} failed. Retrying with backoff... Error: exception TypeError: "
                             "fetch failed sending request\n")
            sys.stderr.flush()
            time.sleep(0.5)
    sid = str(uuid.uuid4())
    if mode == "malformed":
        sys.stdout.write('{\n  "session_id": "' + sid + '",\n  "response": "fn ma')
        return 0
    if mode == "auth":
        print(json.dumps({"session_id": sid, "error": {
            "type": "FatalAuthenticationError",
            "message": "Please set an Auth method in your settings.json or specify GEMINI_API_KEY",
            "code": 41}}, indent=2), file=out_stream)
        return 41
    if _rate_limited(mode, prompt, "gemini"):
        print(json.dumps({"session_id": sid, "error": {
            "type": "Error",
            "message": '[API Error: {"error":{"code":429,"message":"Resource has been exhausted '
                       '(e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]', "code": 1}}, indent=2),
              file=out_stream)
        return 1
    if mode == "error":
        print(json.dumps({"session_id": sid, "error": {"type": "FatalInputError",
                                                       "message": "Invalid prompt: blocked by safety settings",
                                                       "code": 42}}, indent=2), file=out_stream)
        return 42
    n = _words(system) + _words(prompt)
    tokens = {"input": n - 5 if n > 5 else n, "prompt": n, "candidates": 21, "total": n + 21 + 8,
              "cached": 5 if n > 5 else 0, "thoughts": 8, "tool": 0}
    models = {"gemini-2.5-pro": {"api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 2345},
                                 "tokens": tokens, "roles": {}}}
    if new:  # 0.61: tokens per role, and a router call on a cheaper model
        router = {"input": 310, "prompt": 310, "candidates": 12, "total": 322, "cached": 0, "thoughts": 0,
                  "tool": 0}
        models["gemini-2.5-pro"]["roles"] = {"main": {"totalRequests": 1, "totalErrors": 0,
                                                      "totalLatencyMs": 2345, "tokens": dict(tokens)}}
        models["gemini-2.5-flash-lite"] = {"api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 300},
                                           "tokens": dict(router),
                                           "roles": {"utility_router": {"totalRequests": 1, "totalErrors": 0,
                                                                        "totalLatencyMs": 300,
                                                                        "tokens": dict(router)}}}
    out = {"session_id": sid, "response": _answer("gemini", prompt),
           "stats": {"models": models,
                     "tools": {"totalCalls": 0, "totalSuccess": 0, "totalFail": 0, "totalDurationMs": 0,
                               "totalDecisions": {"accept": 0, "reject": 0, "modify": 0, "auto_accept": 0},
                               "byName": {}},
                     "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0}}}
    print(json.dumps(out, indent=2))
    return 0


# ------------------------------------------------------------------- llm
def llm(argv: list[str]) -> int:
    if "--version" in argv:
        print("llm, version 0.27.1")
        return 0
    stdin = sys.stdin.read()
    system = argv[argv.index("-s") + 1] if "-s" in argv else ""
    _log("llm", argv, stdin, {"system": system})
    mode = _mode(stdin)
    if os.environ.get("FAKE_LLM_NO_OPTIONS") == "1" and "-o" in argv:
        sys.stderr.write(f"Error: {argv[argv.index('-o') + 1]}\n  Extra inputs are not permitted\n")
        return 1
    if mode == "slow":
        time.sleep(30)
    if mode == "auth":
        sys.stderr.write("Error: No key found - add one using 'llm keys set openai' or set the "
                         "OPENAI_API_KEY environment variable\n")
        return 1
    if _rate_limited(mode, stdin, "llm"):
        sys.stderr.write("Error: Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in "
                         "organization org-x on tokens per min (TPM)', 'type': 'tokens', "
                         "'code': 'rate_limit_exceeded'}}\n")
        return 1
    if mode == "error":
        sys.stderr.write("Error: Error code: 400 - {'error': {'message': \"Invalid 'messages'\", "
                         "'type': 'invalid_request_error'}}\n")
        return 1
    print(_answer("llm", stdin))
    if mode == "nousage" and "-u" in argv:  # llm 0.36 with a plugin that reports nothing
        sys.stderr.write("Token usage: \n")
    elif mode != "malformed" and "-u" in argv:  # malformed: the plugin reported no usage
        n = 1000 + _words(system) + _words(stdin)
        sys.stderr.write(f"Token usage: {n:,} input, 19 output, " + '{"prompt_tokens_details": '
                         '{"cached_tokens": 1024}}\n')
    return 0


# ---------------------------------------------------------------- ollama
def ollama(argv: list[str]) -> int:
    if "--version" in argv:
        print("ollama version is 0.12.3")
        return 0
    if os.environ.get("FAKE_OLLAMA_DOWN") == "1":
        sys.stderr.write("Error: could not connect to ollama app, is it running?\n")
        return 1
    if argv[:1] == ["list"]:
        print("NAME                  ID              SIZE      MODIFIED")
        print("qwen2.5-coder:0.5b    4ff64a7f502a    397 MB    2 days ago")
        return 0
    if argv[:1] != ["run"]:
        sys.stderr.write(f"Error: unknown command {argv[:1]}\n")
        return 1
    stdin = sys.stdin.read()
    _log("ollama", argv, stdin, {})
    model = argv[1]
    if model not in ("qwen2.5-coder:0.5b",):
        sys.stderr.write(f"Error: model '{model}' not found\n")
        return 1
    mode = _mode(stdin)
    if mode == "slow":
        time.sleep(30)
    print(_answer("ollama", stdin))
    print()
    if "--verbose" in argv:
        n = _words(stdin)
        sys.stderr.write(
            "total duration:       2m27.989997625s\nload duration:        559.665542ms\n"
            f"prompt eval count:    {n} token(s)\nprompt eval duration: 19.747s\n"
            "prompt eval rate:     0.66 tokens/s\neval count:           1133 token(s)\n"
            "eval duration:        2m7.682s\neval rate:            8.87 tokens/s\n")
    return 0


def main(tool: str) -> None:
    sys.exit({"claude": claude, "gemini": gemini, "llm": llm, "ollama": ollama}[tool](sys.argv[1:]))
