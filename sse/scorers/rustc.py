"""The Rust toolchain: locating rustc, its identity for keys, compiling with JSON diagnostics."""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sse.core.errors import VerifyError
from sse.core.sandbox import BWRAP_MODES, SandboxLimits, SandboxResult, isolation_mode, run_sandboxed

# The account's real home (not $HOME, which callers may point elsewhere): where rustup lives.
REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)
CARGO_BIN = REAL_HOME / ".cargo" / "bin"
COMPILE_MEMORY_MB = 3072


def find_tool(name: str) -> str:
    """rustc/cargo from PATH, else ~/.cargo/bin (where rustup puts them)."""
    env_override = os.environ.get(f"SSE_{name.upper()}")
    if env_override:
        return env_override
    found = shutil.which(name)
    if found:
        return found
    cand = CARGO_BIN / name
    if cand.exists():
        return str(cand)
    for extra in ("/root/.cargo/bin", "/usr/local/cargo/bin"):
        p = Path(extra) / name
        if p.exists():
            return str(p)
    raise VerifyError(f"{name} not found", field="toolchain", fix=f"install Rust (rustup) or set SSE_{name.upper()}")


@functools.lru_cache(maxsize=1)
def toolchain_id() -> str:
    """`rustc -vV`, computed once per process: part of every verdict key."""
    rustc = find_tool("rustc")
    try:
        out = subprocess.run([rustc, "-vV"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise VerifyError(f"`rustc -vV` failed: {e}", field="toolchain", fix="check the Rust installation") from None
    return out.strip()


def tool_env() -> dict[str, str]:
    """Environment extras for rustc/cargo inside the sandbox (their own bin dir on PATH)."""
    rustc = Path(find_tool("rustc")).parent
    env = {"PATH": f"{rustc}:/usr/local/bin:/usr/bin:/bin"}
    for k in ("RUSTUP_HOME", "RUSTUP_TOOLCHAIN"):
        if k in os.environ:
            env[k] = os.environ[k]
    if "RUSTUP_HOME" not in env and (REAL_HOME / ".rustup").exists():
        env["RUSTUP_HOME"] = str(REAL_HOME / ".rustup")
    return env


@functools.lru_cache(maxsize=1)
def sysroot() -> str:
    """The real toolchain folder (not the rustup proxy): what the compiler's sandbox mounts."""
    try:
        out = subprocess.run([find_tool("rustc"), "--print", "sysroot"], capture_output=True, text=True,
                             timeout=60, check=True, env={**os.environ, **tool_env()}).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        raise VerifyError(f"`rustc --print sysroot` failed: {e}", field="toolchain",
                          fix="check the Rust installation") from None
    return out


SANDBOX_SYSROOT = "/sse/rust"
# The C toolchain rustc links with (cc is an /etc/alternatives link on Debian).
LINKER_VIEW = ("/usr/bin", "/usr/libexec", "/etc/alternatives")


def compiler_view(extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, list[tuple[str, str]] | None]:
    """(rustc to run, sandbox view) for compiling: where bwrap can hide the host, only the
    toolchain, the linker and `extra` (e.g. allowed crate sources) are mounted, read-only, so
    `include_bytes!("/etc/shadow")` or `#[path = "/etc/hostname"]` finds nothing."""
    if isolation_mode() not in BWRAP_MODES:
        return find_tool("rustc"), None
    view = [(sysroot(), SANDBOX_SYSROOT)] + [(d, d) for d in LINKER_VIEW if Path(d).exists()] + list(extra)
    return f"{SANDBOX_SYSROOT}/bin/rustc", view


@dataclass
class Diagnostic:
    level: str
    message: str
    code: str | None
    file: str | None  # primary span's file (after following macro expansions back to user code)
    rendered: str
    files: set[str] = field(default_factory=set)  # every file any span touches
    line: int | None = None  # primary span's first line


@dataclass
class CompileResult:
    ok: bool
    diagnostics: list[Diagnostic]
    sandbox: SandboxResult
    output: Path | None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level in ("error", "error: internal compiler error")]

    def infra_problem(self) -> str | None:
        """A harness failure (could not start, killed by the limits, ICE), not the code's fault."""
        s = self.sandbox
        if s.error:
            return s.error
        if s.timed_out:
            return None  # reported as a compile timeout by the caller
        if not self.ok and not self.errors:
            tail = s.stderr.decode("utf-8", "replace")[-400:]
            return f"rustc exited {s.returncode} without diagnostics: {tail}"
        return None


def _primary_span(span: dict) -> dict:
    # Follow macro expansions to the call site in user code.
    while span.get("expansion") and span["expansion"].get("span"):
        span = span["expansion"]["span"]
    return span


def _collect_files(spans: list[dict], files: set[str]) -> None:
    for s in spans:
        if s.get("file_name"):
            files.add(s["file_name"])
        exp = s.get("expansion")
        if exp and exp.get("span"):
            _collect_files([exp["span"]], files)


def parse_diagnostics(stderr: bytes) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if d.get("$message_type", "diagnostic") != "diagnostic":
            continue
        spans = d.get("spans") or []
        prim = next((s for s in spans if s.get("is_primary")), spans[0] if spans else None)
        prim = _primary_span(prim) if prim else None
        files: set[str] = set()
        _collect_files(spans, files)
        for child in d.get("children") or []:
            _collect_files(child.get("spans") or [], files)
        code = (d.get("code") or {}).get("code")
        out.append(Diagnostic(
            level=d.get("level", ""), message=d.get("message", ""), code=code,
            file=prim.get("file_name") if prim else None, rendered=d.get("rendered") or d.get("message", ""),
            files=files, line=prim.get("line_start") if prim else None,
        ))
    return out


def rustc_compile(
    src: Path, out: Path, *, test: bool = True, check_only: bool = False, timeout_s: float = 120.0,
    crate_name: str = "sse_candidates", extra_args: list[str] | None = None,
) -> CompileResult:
    """rustc --edition 2021 [--test] --error-format=json, in the sandbox (no network, limits),
    as the throw-away uid seeing only the toolchain and the crate's folder where bwrap allows."""
    rustc, view = compiler_view()
    argv = [rustc, "--edition", "2021", "--error-format=json", "--crate-name", crate_name, "-A", "warnings",
            "-C", "debuginfo=0"]
    if test:
        argv.append("--test")
    if check_only:
        argv += ["--emit=metadata"]
    # Paths in diagnostics relative to the crate folder: stable excerpts, no temp names.
    argv += [f"--remap-path-prefix={src.parent}=."]
    argv += (extra_args or []) + [str(src), "-o", str(out)]
    limits = SandboxLimits(wall_s=timeout_s, memory_mb=COMPILE_MEMORY_MB, nproc=512, fsize_mb=1024,
                           max_output_bytes=16 << 20, drop_privileges=view is not None)
    env = {"PATH": f"{SANDBOX_SYSROOT}/bin:/usr/bin:/bin"} if view is not None else tool_env()
    res = run_sandboxed(argv, cwd=str(src.parent), limits=limits, env=env, view=view)
    diags = parse_diagnostics(res.stderr)
    ok = res.returncode == 0 and not res.timed_out and res.error is None
    return CompileResult(ok=ok, diagnostics=diags, sandbox=res, output=out if ok else None)
