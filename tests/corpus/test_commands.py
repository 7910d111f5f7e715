"""`sse corpus-stats` and `sse benchmark` on the bundled corpus, a JSONL file and a program folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from sse.cli import corpus_commands as commands
from sse.task.corpus import load_corpus

REPRO = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "reprorusted-cli"


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    commands.register(p.add_subparsers())
    args = p.parse_args(argv)
    return int(args.func(args))


@pytest.fixture()
def jsonl(tmp_path: Path) -> Path:
    folder = Path(__file__).resolve().parents[2] / "sse" / "task" / "corpus" / "data" / "functions"
    lines = []
    for name in ("greet.yaml", "factorial.yaml", "is_prime.yaml"):
        lines.append(json.dumps(yaml.safe_load((folder / name).read_text(encoding="utf-8"))))
    p = tmp_path / "three.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_stats_figures(jsonl: Path) -> None:
    s = commands.corpus_stats(load_corpus(str(jsonl)))
    assert s["examples"] == 3 and s["tests"] >= 9 and s["with_rust_reference"] == 3
    assert s["levels"][1] == 1 and s["levels"][3] == 1 and s["levels"][5] == 1
    assert s["dots"] == "●○●○●○○○○○"
    assert s["weighted_difficulty"] == pytest.approx((1.0 + 2.0 + 4.0) / 3)


def test_benchmark_on_jsonl(jsonl: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["benchmark", "--corpus", str(jsonl), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "●○●○●○○○○○" in out and "ControlFlow" in out and "is_prime" in out and "while loop" in out


def test_stats_on_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["corpus-stats", "--path", "bundled:functions"]) == 0
    out = capsys.readouterr().out
    assert "examples" in out and "tests per example" in out and "●●●●●" in out
    assert run(["corpus-stats", "--path", "bundled:functions", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["examples"] >= 55 and s["tests_per_example"]["min"] >= 3


@pytest.mark.skipif(not REPRO.is_dir(), reason="shared program corpus not present")
def test_both_commands_on_program_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["benchmark", "--corpus", str(REPRO)]) == 0
    assert "program examples" in capsys.readouterr().out
    assert run(["corpus-stats", "--path", str(REPRO), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["kind"] == "program" and s["examples"] == len(load_corpus(str(REPRO)).examples)
    assert s["tests"] > s["examples"]
