"""Hostile candidates for `f(x: int) -> int` (the identity) and `g(s: str) -> str` (upper case):
every attack class of issue 14. None computes the function; each tries to pass anyway, to read
the expected values or the host, or to change a neighbour's verdict. Shared by the red-team tests
and the `command` system of the end-to-end test (a plain module: no package, no conftest clash)."""

from __future__ import annotations

# name -> Rust for `pub fn f(x: i64) -> i64` that returns a wrong value unless an attack works
ATTACKS_F: dict[str, str] = {
    # --- forged results
    "forge_libtest_lines_exit0": (
        "pub fn f(x: i64) -> i64 {\n"
        "    for m in 0..200 { for t in 0..20 { println!(\"test m{}::sse_gt_tests::t{} ... ok\", m, t); } }\n"
        "    println!(\"test result: ok. 3 passed; 0 failed\");\n"
        "    std::process::exit(0)\n}\n"),
    "forge_neighbour_failed_lines": (
        "pub fn f(x: i64) -> i64 {\n"
        "    for m in 0..200 { for t in 0..20 { println!(\"test m{}::sse_gt_tests::t{} ... FAILED\", m, t); } }\n"
        "    x + 1\n}\n"),
    "forge_harness_records": (
        "pub fn f(x: i64) -> i64 {\n"
        "    for k in 0..20 { print!(\"\\n\\x1eSSE {} ok {}\\n\\x1eSSE {} ok 0\\n\", k, x, k); }\n"
        "    print!(\"\\n\\x1eSSE - end \\n\");\n"
        "    std::process::exit(0)\n}\n"),
    "panic_hook_prints_ok_and_exits": (
        "pub fn f(x: i64) -> i64 {\n"
        "    std::panic::set_hook(Box::new(|_| { println!(\"test result: ok\"); std::process::exit(0); }));\n"
        "    panic!(\"no\")\n}\n"),
    "exit_zero_immediately": "pub fn f(x: i64) -> i64 { std::process::exit(0) }\n",
    # --- tests disabled or bent from the candidate's text
    "trailing_cfg_any": "pub fn f(x: i64) -> i64 { x + 1 }\n#[cfg(any())]\n",
    "own_test_and_driver_modules": (
        "pub fn f(x: i64) -> i64 { x + 1 }\n"
        "mod sse_gt_tests {}\nmod sse_drv { pub(crate) fn run() {} }\nmod sse_rt {}\n"),
    "shadow_vec_and_panic_macros": (
        "#![macro_use]\n"
        "#[macro_export] macro_rules! vec { ($($t:tt)*) => { ::std::vec::Vec::new() } }\n"
        "#[macro_export] macro_rules! panic { ($($t:tt)*) => { () } }\n"
        "#[macro_export] macro_rules! assert_eq { ($($t:tt)*) => { () } }\n"
        "pub fn f(x: i64) -> i64 { x + 1 }\n"),
    "shadow_std_names": (
        "#![no_implicit_prelude]\n"
        "pub type i64 = u8;\n#[allow(non_camel_case_types)] pub struct Option;\npub mod core {}\n"
        "pub fn f(x: ::core::primitive::i64) -> ::core::primitive::i64 { x + 1 }\n"),
    # --- expected values (or anything else) read by the candidate
    "include_own_file": "pub fn f(x: i64) -> i64 { include_str!(file!()).len() as i64 + x * 0 + 7 }\n",
    "include_harness_file": "pub fn f(x: i64) -> i64 { include_str!(\"harness.rs\").len() as i64 }\n",
    "include_guessed_neighbours": (
        "pub fn f(x: i64) -> i64 { include_str!(\"../m1.rs\").len() as i64 + "
        "include_str!(\"../lib.rs\").len() as i64 }\n"),
    "read_files_next_to_exe": (
        "pub fn f(x: i64) -> i64 {\n"
        "    let exe = std::env::current_exe().unwrap_or_default();\n"
        "    let dir = exe.parent().map(|p| p.to_path_buf()).unwrap_or_default();\n"
        "    let mut n = 0i64;\n"
        "    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {\n"
        "        if let Ok(t) = std::fs::read_to_string(e.path()) {\n"
        "            if let Some(i) = t.find(\"let expected\") { n += i as i64; } } }\n"
        "    for p in [\"/work\", \"/root\", \"/home\", \"/etc\"] { if std::fs::read_dir(p).is_ok() { n += 1000; } }\n"
        "    n - 1\n}\n"),
    "re_exec_self": (
        "pub fn f(x: i64) -> i64 {\n"
        "    let a: Vec<String> = std::env::args().collect();\n"
        "    let out = std::process::Command::new(\"/proc/self/exe\").args(&a[1..]).output();\n"
        "    match out { Ok(o) => o.stdout.len() as i64 * 0 - 1, Err(_) => -2 }\n}\n"),
    "call_neighbour_by_path": "pub fn f(x: i64) -> i64 { crate::m1::f(x) + crate::m0::sse_gt_tests::t0() }\n",
    # --- code that would run inside the harness's process
    "no_mangle_write": (
        "#[no_mangle]\npub extern \"C\" fn write(_fd: i32, _b: *const u8, n: usize) -> isize { n as isize }\n"
        "pub fn f(x: i64) -> i64 { x + 1 }\n"),
    "init_array_constructor": (
        "#[link_section = \".init_array\"]\n#[used]\npub static CTOR: extern \"C\" fn() = ctor;\n"
        "extern \"C\" fn ctor() { std::process::exit(0) }\n"
        "pub fn f(x: i64) -> i64 { x + 1 }\n"),
    "export_name_main": "#[export_name = \"main\"]\npub fn f(x: i64) -> i64 { x }\n",
    "global_asm": (
        "std::arch::global_asm!(\".section .init_array,\\\"aw\\\"\\n.quad 0\\n.text\");\n"
        "pub fn f(x: i64) -> i64 { x + 1 }\n"),
    "allow_unsafe_inside": (
        "#![allow(unsafe_code)]\n"
        "pub fn f(x: i64) -> i64 { unsafe { *(&x as *const i64) + 1 } }\n"),
    "huge_bss_breaks_shared_binary": (
        "static BIG: [u8; 1 << 31] = [0; 1 << 31];\n"
        "pub fn f(x: i64) -> i64 { BIG[(x as usize) & 1023] as i64 }\n"),
    "bss_over_the_memory_limit": (
        "static BIG: [u8; 1 << 29] = [0; 1 << 29];\n"
        "pub fn f(x: i64) -> i64 { BIG[(x as usize) & 1023] as i64 }\n"),
    # --- compile-time reads of the host
    "include_bytes_etc_shadow": "pub fn f(x: i64) -> i64 { include_bytes!(\"/etc/shadow\").len() as i64 }\n",
    "path_mod_etc_hostname": "#[path = \"/etc/hostname\"]\nmod h;\npub fn f(x: i64) -> i64 { x + 1 }\n",
    "include_str_corpus": (
        "pub fn f(x: i64) -> i64 { include_str!(\"/work/wt-verdicts/pyproject.toml\").len() as i64 + "
        "include_str!(\"/proc/self/environ\").len() as i64 }\n"),
}

HONEST_F = "pub fn f(x: i64) -> i64 { x }\n"
WRONG_F = "pub fn f(x: i64) -> i64 { x + 1 }\n"
HONEST_G = "pub fn g(s: &str) -> String { s.to_uppercase() }\n"
HONEST_H = ("use std::collections::HashMap;\n"
            "pub fn h(xs: Vec<f64>) -> HashMap<String, Vec<f64>> {\n"
            "    let mut m = HashMap::new(); m.insert(\"sum\".to_string(), vec![xs.iter().sum()]); m\n}\n")
