"""One source each: the version (package metadata), the provenance collector, the error line."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

import sse
from sse.cli import main
from sse.core.errors import ConfigError, print_error, run_guarded
from sse.core.provenance import command_output, git_commit, package_version, package_versions


def test_version_comes_from_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert sse.__version__ == version("sse")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"sse {version('sse')}"


def test_provenance_collector() -> None:
    assert package_version("numpy") is not None
    assert package_version("no-such-dist-xyz") is None
    assert package_versions(["no-such-dist-xyz"], "not installed") == {"no-such-dist-xyz": "not installed"}
    assert command_output(["/no/such/tool"]) is None
    commit = git_commit(Path(sse.__file__).parent)
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)


def test_one_error_printer(capsys: pytest.CaptureFixture[str]) -> None:
    e = ConfigError("bad thing", file="t.yaml", field="task.x", fix="delete it")
    print_error(e)
    assert capsys.readouterr().err == "sse: error: t.yaml: task.x: bad thing (fix: delete it)\n"

    def fails() -> None:
        raise e

    assert run_guarded(fails) is False
    assert capsys.readouterr().err.count("\n") == 1
    assert run_guarded(lambda: None) is True
