// Hand-written translation of pow_tool.py (std only; i128 for headroom).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: pow_tool.py [-h] {{square,cube,power}} ...");
    exit(2);
}

fn int(s: &str) -> i128 {
    s.parse().unwrap_or_else(|_| usage())
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    match (a.first().map(String::as_str), a.len()) {
        (Some("square"), 2) => { let x = int(&a[1]); println!("{}", x * x) }
        (Some("cube"), 2) => { let x = int(&a[1]); println!("{}", x * x * x) }
        (Some("power"), 3) => {
            let (base, exp) = (int(&a[1]), int(&a[2]));
            let mut r: i128 = 1;
            let mut i = 0;
            while i < exp { r *= base; i += 1; }
            println!("{}", r);
        }
        _ => usage(),
    }
}
