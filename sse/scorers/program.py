"""Program tasks: build a model's `main` into a binary, then run it like any untrusted program.

`build_program(rust, crates=(), ...)` compiles with plain rustc when no crate is allowed, or
with `cargo build --offline` against the Debian registry (/usr/share/cargo/registry, via
source replacement) when the task allows crates. The manifest is written by us: the model
cannot add a build.rs, a proc-macro crate of its own or a dependency outside the allowed
set (an `extern crate`/`use` of anything else is a compile error). `run_sandboxed` from
sse.core.sandbox runs the binary; the program-corpus code (sse.scorers.programs) builds its
suites on both: the `program` scorer of sse.scorers.registry.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sse.core.errors import VerifyError
from sse.core.records import Verdict
from sse.core.sandbox import SandboxLimits, run_sandboxed
from sse.scorers.rustc import (
    COMPILE_MEMORY_MB,
    SANDBOX_SYSROOT,
    Diagnostic,
    compiler_view,
    find_tool,
    parse_diagnostics,
    rustc_compile,
    tool_env,
)

if TYPE_CHECKING:
    pass

DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
KNOWN_CRATES = ("clap", "rand", "regex", "serde", "serde_json")


@dataclass
class BuildResult:
    """A built binary (in `workdir`, which the caller removes with `cleanup()`), or why not."""

    ok: bool
    binary: Path | None
    workdir: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error_codes: tuple[str, ...] = ()
    excerpt: str = ""
    timed_out: bool = False
    infra_error: str | None = None
    compile_s: float = 0.0
    tool: str = "rustc"

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def verdict_if_failed(self) -> Verdict | None:
        if self.ok:
            return None
        if self.infra_error:
            return Verdict("infra_error", diagnostics=self.infra_error[:1500], compile_s=self.compile_s)
        if self.timed_out:
            return Verdict("timeout", diagnostics="compilation exceeded the time limit", compile_s=self.compile_s)
        return Verdict("compile_error", error_codes=self.error_codes, diagnostics=self.excerpt,
                       compile_s=self.compile_s)


def registry_versions(registry: Path = DEBIAN_REGISTRY) -> dict[str, str]:
    """Crate name -> newest version available in the offline registry."""
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    if not registry.exists():
        return {}
    for d in registry.iterdir():
        m = re.fullmatch(r"(.+)-(\d+)\.(\d+)\.(\d+)", d.name)
        if not m:
            continue
        ver = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        if m.group(1) not in out or out[m.group(1)][0] < ver:
            out[m.group(1)] = (ver, ".".join(map(str, ver)))
    return {k: v[1] for k, v in out.items()}


def _codes(diags: list[Diagnostic]) -> tuple[str, ...]:
    seen: list[str] = []
    for d in diags:
        if d.code and d.level.startswith("error") and d.code not in seen:
            seen.append(d.code)
    return tuple(seen)


def _excerpt(diags: list[Diagnostic]) -> str:
    return "\n".join(d.rendered.strip() for d in diags if d.level.startswith("error")
                     and not d.message.startswith("aborting"))[:1500]


def build_program(rust: str, crates: Sequence[str] = (), *, timeout_s: float = 120.0,
                  name: str = "prog", workdir: str | None = None) -> BuildResult:
    """Compile a program; rustc when `crates` is empty, else cargo offline with exactly those crates."""
    tmp = Path(tempfile.mkdtemp(prefix="sse-prog-", dir=workdir))
    tmp.chmod(0o755)  # the sandboxed program runs as another uid
    t0 = time.monotonic()
    if not crates:
        src = tmp / "main.rs"
        src.write_text(rust, encoding="utf-8")
        out = tmp / name
        res = rustc_compile(src, out, test=False, timeout_s=timeout_s, crate_name=name,
                            extra_args=["-C", "opt-level=1"])
        br = BuildResult(ok=res.ok, binary=res.output, workdir=tmp, diagnostics=res.diagnostics,
                         error_codes=_codes(res.errors), excerpt=_excerpt(res.errors),
                         timed_out=res.sandbox.timed_out, infra_error=res.infra_problem(),
                         compile_s=time.monotonic() - t0)
        return br
    return _cargo_build(rust, crates, tmp, timeout_s, name, t0)


def _cargo_build(rust: str, crates: Sequence[str], tmp: Path, timeout_s: float, name: str, t0: float) -> BuildResult:
    versions = registry_versions()
    missing = [c for c in crates if c not in versions]
    if missing:
        raise VerifyError(f"crates {missing} are not in the offline registry {DEBIAN_REGISTRY}",
                          field="ground_truth.crates", fix="install librust-<crate>-dev or remove the crate")
    proj = tmp / "proj"
    (proj / "src").mkdir(parents=True)
    cargo_home = tmp / "cargo-home"
    cargo_home.mkdir()
    deps = []
    for c in sorted(crates):
        feats = ', features = ["derive"]' if c in ("serde", "clap") else ""
        deps.append(f'{c} = {{ version = "{versions[c]}"{feats} }}')
    (proj / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\nbuild = false\n\n'
        f"[dependencies]\n" + "\n".join(deps) + "\n\n[profile.dev]\nopt-level = 1\ndebug = 0\n", encoding="utf-8")
    (cargo_home / "config.toml").write_text(
        '[source.crates-io]\nreplace-with = "debian"\n\n'
        f'[source.debian]\ndirectory = "{DEBIAN_REGISTRY}"\n\n[net]\noffline = true\n', encoding="utf-8")
    (proj / "src" / "main.rs").write_text(rust, encoding="utf-8")
    # As rustc: the throw-away uid over a minimal view (toolchain, linker, the registry, the project).
    _, view = compiler_view(((str(DEBIAN_REGISTRY), str(DEBIAN_REGISTRY)),))
    if view is not None:
        cargo = f"{SANDBOX_SYSROOT}/bin/cargo"
        env = {"PATH": f"{SANDBOX_SYSROOT}/bin:/usr/bin:/bin"}
    else:
        cargo = find_tool("cargo")
        env = tool_env()
    env["CARGO_HOME"] = str(cargo_home)
    env["CARGO_TARGET_DIR"] = str(proj / "target")
    for d in (proj, proj / "src", cargo_home):
        d.chmod(0o755 if d == proj / "src" else 0o777)  # cargo writes the lock file, target and caches
    limits = SandboxLimits(wall_s=timeout_s, memory_mb=COMPILE_MEMORY_MB, nproc=512, fsize_mb=1024,
                           max_output_bytes=16 << 20, drop_privileges=view is not None)
    res = run_sandboxed([cargo, "build", "--offline", "--quiet", "--message-format=json", "--manifest-path",
                         str(proj / "Cargo.toml")], cwd=str(tmp), limits=limits, env=env, view=view)
    diags = parse_diagnostics(_cargo_messages(res.stdout))
    binary = proj / "target" / "debug" / name
    ok = res.returncode == 0 and binary.exists() and not res.timed_out
    errs = [d for d in diags if d.level.startswith("error")]
    infra = res.error
    if not ok and not errs and not res.timed_out and infra is None:
        infra = "cargo failed without diagnostics: " + res.stderr.decode("utf-8", "replace")[-600:]
    return BuildResult(ok=ok, binary=binary if ok else None, workdir=tmp, diagnostics=diags,
                       error_codes=_codes(errs), excerpt=_excerpt(errs), timed_out=res.timed_out,
                       infra_error=infra, compile_s=time.monotonic() - t0, tool="cargo")


def _cargo_messages(stdout: bytes) -> bytes:
    """cargo --message-format=json wraps rustc diagnostics: unwrap them to rustc's JSON lines."""
    import json

    lines = []
    for ln in stdout.decode("utf-8", "replace").splitlines():
        try:
            d = json.loads(ln)
        except json.JSONDecodeError:
            continue
        if d.get("reason") == "compiler-message" and isinstance(d.get("message"), dict):
            lines.append(json.dumps(d["message"]))
    return "\n".join(lines).encode()


def run_program(binary: Path, args: Sequence[str] = (), stdin: bytes | None = None,
                limits: SandboxLimits | None = None) -> object:
    """Run a built program in the sandbox (cwd = a fresh temporary directory)."""
    return run_sandboxed([str(binary), *args], stdin=stdin, limits=limits or SandboxLimits())
