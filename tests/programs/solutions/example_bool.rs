// Hand-written translation of bool_tool.py (std only).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: bool_tool.py [-h] {{and,or,not}} ...");
    exit(2);
}

fn int(s: &str) -> i64 {
    s.parse().unwrap_or_else(|_| usage())
}

fn tf(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    match (a.first().map(String::as_str), a.len()) {
        (Some("and"), 3) => println!("{}", tf(int(&a[1]) != 0 && int(&a[2]) != 0)),
        (Some("or"), 3) => println!("{}", tf(int(&a[1]) != 0 || int(&a[2]) != 0)),
        (Some("not"), 2) => println!("{}", tf(int(&a[1]) == 0)),
        _ => usage(),
    }
}
