"""Systems own their knowledge; kinds and scorers can come from other packages (entry points)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sse.core.errors import ConfigError
from sse.systems import base
from sse.task.spec import SystemSpec

PLUGIN = """
from sse.core.records import Completion, Verdict
from sse.systems.base import AdapterBase


class RemoteFake(AdapterBase):
    local = False
    batch_size = 7
    price_model = "fake-row"
    pricing_basis = "tokens"
    known_options = frozenset({"answer"})

    def __init__(self, spec, task=None):
        self.spec = spec

    def fingerprint(self):
        return "remote-fake/1"

    def is_stochastic(self, decoding):
        return False

    def unavailable_reason(self):
        return None

    def generate(self, prompts):
        return [Completion(system=self.spec.name, example_id=p.example.id, run=p.run,
                           text=self.spec.options.get("answer", "")) for p in prompts]


def judge(requests):
    return [Verdict("pass", tests_passed=1, tests_total=1) for _ in requests]
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake installed distribution declaring a system kind and a scorer under sse's entry points."""
    (tmp_path / "sse_fake_plugin.py").write_text(PLUGIN)
    info = tmp_path / "sse_fake_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sse-fake-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""\
        [sse.systems]
        remote-fake = sse_fake_plugin:RemoteFake

        [sse.scorers]
        fake-truth = sse_fake_plugin:judge
        """)
    )
    base.known_kinds()  # the built-in kinds registered into the real table before it is copied
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(base, "_ENTRY_POINTS_READ", [])
    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    return tmp_path


def test_a_kind_from_an_entry_point_is_built_and_declares_its_traits(plugin: Path) -> None:
    spec = SystemSpec(name="rf", kind="remote-fake", options={"answer": "x"})
    adapter = base.build_adapter(spec, None)
    assert type(adapter).__name__ == "RemoteFake"
    tr = base.traits(adapter)
    assert (tr.local, tr.batch_size, tr.price_model, tr.pricing_basis, tr.oracle) == (
        False,
        7,
        "fake-row",
        "tokens",
        False,
    )
    assert "remote-fake" in base.known_kinds()


def test_a_kind_from_an_entry_point_gets_strict_options(plugin: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'anwser'"):
        base.build_adapter(SystemSpec(name="rf", kind="remote-fake", options={"anwser": "x"}), None)


def test_a_scorer_from_an_entry_point_judges_its_ground_truth_type(
    plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sse.scorers import registry

    monkeypatch.setattr(registry, "_LOADED", {})
    assert registry.scorer_for("fake-truth").__module__ == "sse_fake_plugin"
    assert "fake-truth" in registry.scorer_types()


def test_unknown_options_are_rejected_for_builtin_kinds() -> None:
    with pytest.raises(ConfigError, match=r"systems\.p\.options\.worker"):
        base.build_adapter(SystemSpec(name="p", kind="py2many", options={"worker": 2}), None)
    with pytest.raises(ConfigError, match="unknown option 'batch'"):
        base.build_adapter(SystemSpec(name="r", kind="reference", options={"batch": 2}), None)


def test_builtin_traits_come_from_the_adapters() -> None:
    ref = base.build_adapter(SystemSpec(name="r", kind="reference"), None)
    assert base.traits(ref).oracle and base.traits(ref).pricing_basis == "none"
    claude = base.build_adapter(SystemSpec(name="c", kind="claude", options={"model": "sonnet"}), None)
    assert not base.traits(claude).local and base.traits(claude).price_model == "sonnet"


def test_an_adapter_outside_the_base_class_gets_the_default_traits() -> None:
    assert base.traits(object()) == base.Traits()  # type: ignore[arg-type]


def test_scorers_are_found_without_importing_them_first() -> None:
    """The program scorer is named in the registry, not registered by an import a test must remember."""
    code = (
        "import sys\nfrom sse.scorers.registry import scorer_for\n"
        "assert 'sse.scorers.programs' not in sys.modules\n"
        "f = scorer_for('program')\nprint(f.__module__, f.__name__)\n"
        "print(scorer_for('compiler').__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["sse.scorers.programs", "program_judge", "judge_functions"]


def test_no_scorer_for_an_unknown_type_is_one_config_line() -> None:
    from sse.scorers.registry import scorer_for

    with pytest.raises(ConfigError, match="no scorer for ground truth type 'nope'"):
        scorer_for("nope")
