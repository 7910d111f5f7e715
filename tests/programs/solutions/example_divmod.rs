// Hand-written translation of divmod_tool.py (std only): Python's floor division and modulo.
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: divmod_tool.py [-h] {{calc,quot,rem}} ...");
    exit(2);
}

fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q }
}

fn py_mod(a: i64, b: i64) -> i64 {
    a - b * floor_div(a, b)
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    if a.len() != 3 { usage(); }
    let x: i64 = a[1].parse().unwrap_or_else(|_| usage());
    let y: i64 = a[2].parse().unwrap_or_else(|_| usage());
    if y == 0 {
        eprintln!("ZeroDivisionError: integer division or modulo by zero");
        exit(1);
    }
    match a[0].as_str() {
        "calc" => println!("{} {}", floor_div(x, y), py_mod(x, y)),
        "quot" => println!("{}", floor_div(x, y)),
        "rem" => println!("{}", py_mod(x, y)),
        _ => usage(),
    }
}
