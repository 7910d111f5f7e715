"""Prompt styles, completion prompts and answer-shaped stops (decided incrementally on decoded text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sse.core.errors import ConfigError
from sse.core.records import Example
from sse.scorers.extract import extract_rust
from sse.task.config import load_task
from sse.task.prompting import (
    BodyCloseStop,
    CodeBlockStop,
    StopMatcher,
    render_completion,
    resolve_style,
    stop_matcher,
)

TASKS = Path(__file__).resolve().parents[2] / "tasks"


def _first_stop(make: type[StopMatcher] | object, text: str, step: int = 1) -> int | None:
    """Feed growing prefixes of text (as tokens arrive); the first cut reported."""
    m = make() if callable(make) else make
    for n in range(step, len(text) + step, step):
        cut = m.feed(text[:n])
        if cut is not None:
            return cut
    return None


CHAT_ANSWER = ("Sure! The Python was:\n```python\ndef f(x):\n    return x\n```\n"
               "In Rust:\n```rust\npub fn f(x: i64) -> i64 {\n    let s = \"```\";\n    x\n}\n```\n"
               "This works because...\n```rust\nfn main() {}\n```\n")


@pytest.mark.parametrize("step", [1, 3, 7])
def test_code_block_stop_ends_at_the_first_rust_block(step: int) -> None:
    cut = _first_stop(CodeBlockStop, CHAT_ANSWER, step)
    assert cut is not None
    answer = CHAT_ANSWER[:cut]
    assert answer.endswith("    x\n}\n```") and "This works" not in answer
    ex = Example(id="f", python="def f(x: int) -> int:\n    return x\n", entry_point="f")
    assert extract_rust(answer, ex) == "pub fn f(x: i64) -> i64 {\n    let s = \"```\";\n    x\n}\n"


def test_code_block_stop_waits_for_whole_lines_and_ignores_other_languages() -> None:
    m = CodeBlockStop()
    assert m.feed("```rust\nfn f() {}\n```") is None  # "```" may still become "```rust"
    assert m.feed("```rust\nfn f() {}\n```\n") == len("```rust\nfn f() {}\n```")
    assert _first_stop(CodeBlockStop, "```toml\n[x]\n```\n```python\nx\n```\n") is None
    assert _first_stop(CodeBlockStop, "```\nfn f() {}\n```\n") is not None  # unlabelled counts as Rust
    assert _first_stop(CodeBlockStop, "~~~rust\nfn f() {}\n```\n~~~\n") == len("~~~rust\nfn f() {}\n```\n~~~")


BODY = ("\n    let s = \"}\"; // }\n    let c = '}';\n    let r = r#\"}\"#;\n    let t: &'static str = \"a\";\n"
        "    /* } /* } */ */ if s.len() > 1 { c.len_utf8() as i64 } else { 0 }\n}\n\nfn main() {\n}\n")


@pytest.mark.parametrize("step", [1, 2, 5])
def test_body_close_stop_counts_only_code_braces(step: int) -> None:
    cut = _first_stop(BodyCloseStop, BODY, step)
    assert cut == BODY.index("}\n\nfn main") + 1


def test_body_close_stop_waits_for_split_characters() -> None:
    m = BodyCloseStop()
    assert m.feed("\n    'x' as i64 \ufffd") is None
    assert m.feed("\n    'x' as i64 }") == len("\n    'x' as i64 }")


def test_render_completion_and_styles() -> None:
    cp = render_completion("def f(d: dict[str, int]) -> int:\n    return len(d)\n",
                           "pub fn f(d: HashMap<String, i64>) -> i64")
    assert cp.text.startswith("// Python:\n// def f(d: dict[str, int]) -> int:\n//     return len(d)\n")
    assert cp.text.endswith("use std::collections::HashMap;\n\npub fn f(d: HashMap<String, i64>) -> i64 {")
    assert cp.text.endswith(cp.answer_prefix)
    with pytest.raises(ValueError):
        render_completion("x = 1", "")
    assert resolve_style("auto", True) == "chat" and resolve_style("auto", False) == "completion"
    assert resolve_style("completion", True) == "completion"
    assert stop_matcher("none", "chat") is None
    assert isinstance(stop_matcher("code_block", "completion"), BodyCloseStop)
    assert isinstance(stop_matcher("code_block", "chat"), CodeBlockStop)


def _task_file(tmp_path: Path, name: str, edit: dict[str, dict[str, object]]) -> Path:
    data = yaml.safe_load((TASKS / name).read_text())
    data["evaluation"]["registry"] = str(TASKS / "models.yaml")
    data["evaluation"].pop("price_table", None)
    if not data["task"]["corpus"].startswith("bundled:"):
        data["task"]["corpus"] = str((TASKS / data["task"]["corpus"]).resolve())
    for section, values in edit.items():
        data[section].update(values)
    out = tmp_path / name
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.parametrize(("name", "edit", "message"), [
    ("python-to-rust.yaml", {"evaluation": {"stop_policy": "at_semicolon"}},
     r"python-to-rust.yaml: evaluation.stop_policy: unknown stop policy 'at_semicolon' \(fix: use one of code_block, none\)"),
    ("python-to-rust.yaml", {"prompts": {"style": "fim"}},
     r"python-to-rust.yaml: prompts.style: unknown prompt style 'fim' \(fix: use one of auto, chat, completion\)"),
    ("python-to-rust-programs.yaml", {"prompts": {"style": "completion"}},
     r"python-to-rust-programs.yaml: prompts.style: a completion prompt needs a Rust signature"),
])
def test_bad_task_keys_are_one_line_errors(tmp_path: Path, name: str, edit: dict[str, dict[str, object]],
                                           message: str) -> None:
    path = _task_file(tmp_path, name, edit)
    with pytest.raises(ConfigError) as e:
        load_task(path)
    line = e.value.one_line()
    assert "\n" not in line and str(path) in line
    assert re.search(message, line)


def test_task_keys_reach_the_decoding(tmp_path: Path) -> None:
    t = load_task(_task_file(tmp_path, "python-to-rust.yaml", {"evaluation": {"stop_policy": "none"},
                                                                "prompts": {"style": "completion"}}))
    assert t.decoding.stop_policy == "none" and t.prompt_style == "completion"
    default = load_task(TASKS / "python-to-rust.yaml")
    assert default.decoding.stop_policy == "code_block" and default.prompt_style == "auto"
