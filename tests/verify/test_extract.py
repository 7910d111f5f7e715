"""Code extraction from completions."""

from __future__ import annotations

from sse.core.records import Example
from sse.scorers import extract_rust
from sse.scorers.extract import remove_main

EX = Example(id="e", python="def add(a: int, b: int) -> int: ...", entry_point="add")
PROG = Example(id="p", python="", entry_point="main", kind="program")


def test_no_code() -> None:
    assert extract_rust("", EX) is None
    assert extract_rust("   \n\t", EX) is None
    assert extract_rust("I cannot help with that.", EX) is None
    assert extract_rust("```python\ndef add(a, b): return a + b\n```", EX) is None
    assert extract_rust("```rust\n\n```", EX) is None


def test_fenced_with_prose() -> None:
    text = "Here you go:\n```rust\npub fn add(a: i64, b: i64) -> i64 { a + b }\n```\nThis adds."
    assert extract_rust(text, EX) == "pub fn add(a: i64, b: i64) -> i64 { a + b }\n"


def test_unlabelled_and_rs_fences() -> None:
    assert extract_rust("```\nfn add(a: i64, b: i64) -> i64 { a + b }\n```", EX) is not None
    assert "fn add" in (extract_rust("~~~rs\nfn add(a: i64, b: i64) -> i64 { a + b }\n~~~", EX) or "")


def test_last_defining_block_wins_and_helpers_are_kept() -> None:
    text = ("First try:\n```rust\npub fn add(a: i64, b: i64) -> i64 { a - b }\n```\n"
            "Helper:\n```rust\nfn twice(x: i64) -> i64 { 2 * x }\n```\n"
            "Corrected:\n```rust\npub fn add(a: i64, b: i64) -> i64 { twice(a) / 2 + b }\n```\n"
            "```toml\n[package]\n```")
    code = extract_rust(text, EX)
    assert code is not None
    assert "a - b" not in code and "twice(a) / 2 + b" in code and "fn twice" in code
    assert "[package]" not in code


def test_blocks_joined_when_none_defines_entry() -> None:
    text = "```rust\nuse std::collections::HashMap;\n```\n```rust\nfn helper() {}\n```"
    code = extract_rust(text, EX)
    assert code is not None and "HashMap" in code and "helper" in code


def test_truncated_fence_runs_to_end() -> None:
    code = extract_rust("```rust\npub fn add(a: i64, b: i64) -> i64 {\n    a +", EX)
    assert code is not None and code.startswith("pub fn add")


def test_unfenced_prose_trimmed() -> None:
    text = "Sure! The function is:\n\nuse std::cmp;\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\nHope it helps."
    code = extract_rust(text, EX)
    assert code == "use std::cmp;\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n"


def test_think_dropped() -> None:
    text = "<think>```rust\nfn add() {}\n```</think>```rust\npub fn add(a: i64, b: i64) -> i64 { a + b }\n```"
    assert extract_rust(text, EX) == "pub fn add(a: i64, b: i64) -> i64 { a + b }\n"


def test_stray_main_removed_for_functions_kept_for_programs() -> None:
    text = ('```rust\npub fn add(a: i64, b: i64) -> i64 { a + b }\n\nfn main() {\n    let s = "}{";\n'
            '    // } comment\n    println!("{}", add(1, 2));\n}\n```')
    code = extract_rust(text, EX)
    assert code is not None and "fn main" not in code and "pub fn add" in code
    assert "fn main" in (extract_rust(text, PROG) or "")


def test_remove_main_handles_raw_strings_and_truncation() -> None:
    code = 'fn f() {}\nfn main() {\n    let r = r#"{ not a brace }"#;\n    let c = \'{\';\n}\nfn g() {}\n'
    assert remove_main(code) == "fn f() {}\n\nfn g() {}\n"
    assert remove_main("fn f() {}\nfn main() {\n  loop {") == "fn f() {}\n"
