"""Any executable as a system (kind `command`): the prompt on stdin, the answer on stdout."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sse.core import proc
from sse.core.proc import ProcResult
from sse.core.store import content_key, file_key
from sse.systems.base import register_kind
from sse.systems.clis.adapter import CliAdapter, joined
from sse.systems.clis.outcome import CallResult, Invocation, as_int, one_line
from sse.task.spec import Decoding, Prompt, SystemSpec


def _tree_key(path: Path) -> Any:
    """What a named file or folder holds (every file under a folder), for the fingerprint."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return [(str(p.relative_to(path)), file_key(p)) for p in files]
    return file_key(path)


@register_kind("command")
class CommandAdapter(CliAdapter):
    """Registry options: `argv` (list, required), `files` (extra files or folders the command
    reads: their content joins the fingerprint), `env`, `timeout_s`, `deterministic` (default
    false: runs are separate samples), `stdin` = "joined" (system + blank line + user, default)
    | "user" | "json" ({"system", "user", "example_id", "run", "temperature", "max_tokens",
    "seed"}), `stdout` = "text" (the answer, default) | "json" ({"text", "tokens_in",
    "tokens_out", "cost_usd"}: lets a remote command report what it used), `version_argv` (a
    command whose output joins the fingerprint), `local` (default true), `concurrency` (1),
    `retries` (0).

    Relative paths in `argv` and `files` resolve against the registry file's folder (each call
    runs in a fresh temporary folder, so a path relative to it would name nothing). The
    fingerprint hashes the executable and every file or folder that argv or `files` names, so
    editing `scripts/my_model.py` invalidates its cached answers. A non-zero exit is a crash.
    Local commands are priced by their CPU seconds (os.wait4); `local: false` with `prices:`
    (and `stdout: json` token counts) or a reported `cost_usd` for one that calls a service.
    """

    kind = "command"
    default_concurrency = 1
    default_retries = 0
    default_local = True
    can_be_local = True
    EXTRA = frozenset({"argv", "deterministic", "stdin", "stdout", "version_argv", "files"})

    def __init__(self, spec: SystemSpec, task: Any = None) -> None:
        super().__init__(spec, task)
        argv = self._opt("argv", list, None)
        if not argv or not all(isinstance(a, (str, int, float)) for a in argv):
            self._bad("argv", "the command kind needs `argv`, a non-empty list of strings",
                      "e.g. options: {argv: [python3, my_model.py]}")
        self.base = Path(spec.registry_file).resolve().parent if spec.registry_file else Path.cwd()
        self.argv = [self._resolve(str(a), first=i == 0) for i, a in enumerate(argv)]
        self.binary = self.argv[0]
        files = self._opt("files", list, [])
        self.files: list[Path] = []
        for f in files:
            p = Path(str(f)) if Path(str(f)).is_absolute() else self.base / str(f)
            if not p.exists():
                self._bad("files", f"{f!r} does not exist (relative paths are read from {self.base})",
                          "name files the command reads, relative to the registry file")
            self.files.append(p.resolve())
        self.deterministic: bool = self._opt("deterministic", bool, False)
        self.stdin_mode: str = self._opt("stdin", str, "joined")
        if self.stdin_mode not in ("joined", "user", "json"):
            self._bad("stdin", f"unknown stdin mode {self.stdin_mode!r}", "use joined, user or json")
        self.stdout_mode: str = self._opt("stdout", str, "text")
        if self.stdout_mode not in ("text", "json"):
            self._bad("stdout", f"unknown stdout mode {self.stdout_mode!r}", "use text or json")
        va = self._opt("version_argv", list, None)
        self.version_argv = [self._resolve(str(a), first=i == 0) for i, a in enumerate(va)] if va else None
        self.provider = self._opt("provider", str, f"command:{spec.name}")

    def _resolve(self, arg: str, *, first: bool) -> str:
        """A relative path that exists beside the registry file becomes absolute (also the value
        of `--opt=path`); a bare first word stays a name looked up on PATH."""
        if first and "/" not in arg:
            return arg
        head, sep, value = arg.partition("=") if arg.startswith("-") else ("", "", arg)
        if value and not Path(value).is_absolute() and (self.base / value).exists():
            return f"{head}{sep}{(self.base / value).resolve()}"
        return arg

    def _named_files(self) -> list[Path]:
        """Every existing file or folder argv names (after resolution), then `files`."""
        named: list[Path] = []
        for i, a in enumerate(self.argv):
            value = a.partition("=")[2] if a.startswith("-") else a
            if i == 0:
                exe = shutil.which(a)
                if exe:
                    named.append(Path(exe).resolve())
            elif value and Path(value).is_absolute() and Path(value).exists():
                named.append(Path(value))
        return named + self.files

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
                r = proc.run(self.version_argv, env=self._env({}), cwd=tmp, timeout_s=30.0)
            if r.returncode != 0 or r.timed_out or r.spawn_error:
                return None, f"command: version_argv failed: {r.spawn_error or one_line(r.err_text, 120)}"
            parts.append(one_line(r.out_text, 200))
        return " ".join(parts), None

    def fingerprint(self) -> str:
        """Re-read on every call (not cached): an edited script must change it."""
        contents = [(str(p), _tree_key(p)) for p in self._named_files() if p.exists()]
        return content_key("command-system/2", self.argv, self.version() or "unavailable", self.stdin_mode,
                           self.stdout_mode, sorted(self.extra_env.items()), contents)

    def build(self, prompt: Prompt, workdir: Path) -> Invocation:
        if self.stdin_mode == "user":
            data = prompt.user
        elif self.stdin_mode == "json":
            d = prompt.decoding
            data = json.dumps({"system": prompt.system, "user": prompt.user, "example_id": prompt.example.id,
                               "run": prompt.run, "temperature": d.temperature, "max_tokens": d.max_tokens,
                               "seed": d.seed})
        else:
            data = joined(prompt)
        return Invocation(list(self.argv), stdin=data)

    def parse(self, result: ProcResult) -> CallResult:
        if result.returncode:
            why = result.err_text.strip() or result.out_text.strip() or "no output"
            return CallResult.fail(f"command exited {result.returncode}: {why}", "permanent")
        if self.stdout_mode == "text":
            return CallResult(text=result.out_text)
        try:
            data = json.loads(result.out_text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return CallResult.fail(f"command: stdout is not a JSON object with a `text` string: "
                                   f"{one_line(result.out_text, 120)}", "permanent")
        cost = data.get("cost_usd")
        return CallResult(text=data["text"], tokens_in=as_int(data.get("tokens_in")),
                          tokens_out=as_int(data.get("tokens_out")),
                          dollars=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool)
                          else None)
