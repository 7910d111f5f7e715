"""Where a result came from: package versions and the git commit (one collector for the run's
manifest and the report's analysis versions)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def package_version(name: str, missing: str | None = None) -> str | None:
    """The installed distribution's version, or `missing` when it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return missing


def package_versions(names: Iterable[str], missing: str | None = None) -> dict[str, str | None]:
    return {n: package_version(n, missing) for n in names}


def command_output(argv: list[str], timeout_s: float = 20.0, cwd: str | Path | None = None) -> str | None:
    """A tool's stripped stdout (e.g. `rustc -vV`), None when it fails, is missing or prints nothing."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


def git_commit(where: str | Path) -> str | None:
    """HEAD of the checkout holding `where`, None outside one (e.g. an installed wheel)."""
    return command_output(["git", "-C", str(where), "rev-parse", "HEAD"])
