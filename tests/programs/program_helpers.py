"""Shared pieces of the program-task tests: hand-written solutions, their wrong variants, hostile programs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.core.records import Example
from sse.task.corpus.loader import load_corpus

HERE = Path(__file__).parent
SOLUTIONS = HERE / "solutions"

# example id -> (text in the solution, replacement): one small, plausible bug per solution.
WRONG = {
    "example_abs": ("if x < 0 { -x } else { x }", "if x < 0 { x } else { -x }"),
    "example_csv": ("args[1].split(',').count()", "args[1].split(',').count() + 1"),
    "example_bool": ("int(&a[1]) != 0 || int(&a[2]) != 0", "int(&a[1]) != 0 && int(&a[2]) != 0"),
    "example_count": ("matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')", "matches!(c, 'a' | 'e' | 'i' | 'u')"),
    "example_divmod": ("\"calc\" => println!(\"{} {}\", floor_div(x, y), py_mod(x, y))",
                       "\"calc\" => println!(\"{} {}\", py_mod(x, y), py_mod(x, y))"),
    "example_pow": ("println!(\"{}\", x * x * x)", "println!(\"{}\", x * x)"),
    "example_split": ("(Some(\"dash\"), 2) => '-'", "(Some(\"dash\"), 2) => '_'"),
    "example_minmax": ("if r > nums[2] { r = nums[2]; }", ""),
    "example_ord_chr": ("Some(c) => println!(\"{}\", c as u32)", "Some(c) => println!(\"{}\", c as u32 + 1)"),
    "example_find": ("\"last\" => hits.max().unwrap_or(-1)", "\"last\" => hits.min().unwrap_or(-1)"),
    "example_choices": ("Some(pick(\"--level/-l\", args.get(i), &[\"debug\", \"info\", \"warning\", \"error\"]))",
                        "args.get(i).cloned()"),
}


def solution(example_id: str) -> str:
    return (SOLUTIONS / f"{example_id}.rs").read_text(encoding="utf-8")


def wrong_variant(example_id: str) -> str:
    src = solution(example_id)
    old, new = WRONG[example_id]
    assert src.count(old) == 1, f"mutation anchor not unique in {example_id}.rs"
    return src.replace(old, new)


def bundled_programs() -> dict[str, Example]:
    return {e.id: e for e in load_corpus("bundled:programs", check=False).examples}


def echo_example() -> Example:
    return load_corpus(str(HERE / "data"), check=False).examples[0]


# Hostile candidates for example_abs: each would pass (print "5" for `int 5`, "42" for `int -42`)
# only if it escaped a limit; {canary} and {port} are filled in by the test.
_ANSWER = 'fn answer() { let a: Vec<String> = std::env::args().collect(); ' \
          'let x: i64 = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(0); println!("{}", x.abs()); }\n'
HOSTILE: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (main body, verdict statuses that count as contained and correctly classified)
    "infinite_loop": ("fn main() { let mut i: u64 = 0; loop { i = i.wrapping_add(1); std::hint::black_box(i); } }",
                      ("timeout",)),
    "fork_bomb": ("fn main() { loop { let me = std::env::current_exe().unwrap(); "
                  "let _ = std::process::Command::new(me).arg(\"int\").arg(\"5\").spawn(); } }",
                  ("timeout", "crash")),
    "huge_alloc": ("fn main() { let v: Vec<u8> = vec![7u8; 1usize << 40]; println!(\"{}\", v[12345]); answer(); }",
                   ("crash", "test_failure")),
    "huge_file": ("fn main() { use std::io::Write; let mut f = std::fs::File::create(\"big.bin\").unwrap(); "
                  "let buf = vec![0u8; 1 << 20]; loop { f.write_all(&buf).unwrap(); } }",
                  ("crash", "test_failure")),
    "print_forever": ("fn main() { loop { println!(\"yes yes yes yes yes yes yes yes\"); } }",
                      ("crash", "timeout")),
    "rm_home": ("fn main() { let _ = std::fs::remove_dir_all(\"{canary}\"); "
                "let _ = std::fs::remove_dir_all(std::env::var(\"HOME\").unwrap_or_default()); answer(); }",
                ("pass", "test_failure")),
    "network": ("fn main() { if std::net::TcpStream::connect(\"127.0.0.1:{port}\").is_ok() { answer(); } "
                "else { println!(\"offline\"); } }",
                ("test_failure",)),
    "abort": ("fn main() { std::process::abort(); }", ("crash",)),
    "stack_overflow": ("fn f(n: u64) -> u64 { let a = [n; 64]; std::hint::black_box(&a); f(n + 1) + a[3] } "
                       "fn main() { println!(\"{}\", f(0)); }",
                       ("crash",)),
    "env_secret": ("fn main() { if std::env::var(\"SSE_TEST_SECRET\").is_ok() || "
                   "std::env::vars().any(|(_, v)| v.contains(\"hunter2\")) { answer(); } else { println!(\"no\"); } }",
                   ("test_failure",)),
}


def hostile_source(name: str, canary: str = "/nonexistent", port: int = 9) -> str:
    body = HOSTILE[name][0].replace("{canary}", canary).replace("{port}", str(port))
    return _ANSWER + body + "\n"


needs_examples = pytest.mark.skipif(not (HERE.parent.parent / "sse/task/corpus/data/programs").exists(),
                                    reason="bundled program corpus missing")
