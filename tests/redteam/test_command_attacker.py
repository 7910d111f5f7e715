"""End to end: `command` systems that implement nothing but attack the harness, evaluated with
`sse evaluate` beside `reference` (slow: a real evaluation with several systems)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from attack_system import ATTACKS
from verify_helpers import needs_rustc

from sse.cli import main

SCRIPT = Path(__file__).with_name("attack_system.py")
EXAMPLES = [  # (id, python, argument lists, reference Rust)
    ("negate", "def negate(x: int) -> int:\n    return -x\n", ["3", "-4", "0"], "pub fn negate(x: i64) -> i64 { -x }"),
    ("count_a", "def count_a(s: str) -> int:\n    return s.count('a')\n", ["'banana'", "''", "'xyz'"],
     "pub fn count_a(s: &str) -> i64 { s.matches('a').count() as i64 }"),
    ("halves", "def halves(xs: list[float]) -> list[float]:\n    return [x / 2 for x in xs]\n",
     ["[1.0, 3.0]", "[]", "[0.1]"], "pub fn halves(xs: Vec<f64>) -> Vec<f64> { xs.iter().map(|x| x / 2.0).collect() }"),
]


def _project(root: Path, systems: list[str]) -> None:
    (root / "tasks").mkdir()
    lines = [json.dumps({"id": i, "entry_point": i, "python": py, "tests": [{"args": a} for a in args], "rust": rs})
             for i, py, args, rs in EXAMPLES]
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    reg = ["systems:", "  reference: {kind: reference}"]
    for a in ATTACKS:
        reg.append(f'  attack-{a}: {{kind: command, options: {{argv: ["{sys.executable}", "{SCRIPT}", "{a}"], '
                   f"timeout_s: 60, deterministic: true}}}}")
    (root / "tasks" / "models.yaml").write_text("\n".join(reg) + "\n")
    (root / "tasks" / "t.yaml").write_text(textwrap.dedent(f"""\
        task: {{id: redteam, corpus: ../corpus.jsonl}}
        evaluation: {{runs: 1, systems: [{", ".join(systems)}], machine_price_per_hour: 0.1}}
        prompts:
          system: "Translate."
          user_template: "{{python_code}}\\n{{rust_signature}}"
        ground_truth: {{type: compiler, limits: {{test_timeout_s: 5}}}}
        analysis: {{bootstrap_resamples: 200}}
        """))


def _scores(root: Path, systems: list[str], capfd: pytest.CaptureFixture[str]) -> dict[str, list[dict]]:
    rc = main(["evaluate", "--tasks", "tasks/t.yaml", "--models", ",".join(systems), "--runs", "1"])
    err = capfd.readouterr().err
    assert rc == 0, err
    samples = [json.loads(x) for x in (root / "reports" / "redteam" / "samples.jsonl").read_text().splitlines()]
    out: dict[str, list[dict]] = {}
    for s in samples:
        out.setdefault(s["system"], []).append(s)
    return out


@pytest.mark.slow
@needs_rustc
def test_attacking_command_systems_score_zero_beside_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    attackers = [f"attack-{a}" for a in ATTACKS]
    _project(tmp_path, ["reference", *attackers])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))
    got = _scores(tmp_path, ["reference", *attackers], capfd)
    assert [s["status"] for s in got["reference"]] == ["pass"] * len(EXAMPLES)
    for a in attackers:
        statuses = [s["status"] for s in got[a]]
        assert len(statuses) == len(EXAMPLES) and "pass" not in statuses and "infra_error" not in statuses, \
            (a, statuses)
    # the honest system alone, in a fresh cache, gets the same verdicts
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache-alone"))
    alone = _scores(tmp_path, ["reference"], capfd)
    assert [(s["example_id"], s["status"], s["tests_passed"]) for s in alone["reference"]] == \
        [(s["example_id"], s["status"], s["tests_passed"]) for s in got["reference"]]
