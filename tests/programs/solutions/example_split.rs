// Hand-written translation of split_tool.py (std only).
use std::env;
use std::process::exit;

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    let sep = match (a.first().map(String::as_str), a.len()) {
        (Some("underscore"), 2) => '_',
        (Some("dash"), 2) => '-',
        (Some("dot"), 2) => '.',
        _ => {
            eprintln!("usage: split_tool.py [-h] {{underscore,dash,dot}} ...");
            exit(2);
        }
    };
    let parts: Vec<&str> = a[1].split(sep).collect();
    if parts.len() < 3 {
        eprintln!("IndexError: list index out of range");
        exit(1);
    }
    println!("{} {} {}", parts[0], parts[1], parts[2]);
}
