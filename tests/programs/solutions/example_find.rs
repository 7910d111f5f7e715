// Hand-written translation of find_tool.py (std only): indexes count characters, not bytes.
use std::env;
use std::process::exit;

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    if a.len() != 3 {
        eprintln!("usage: find_tool.py [-h] {{first,last}} ...");
        exit(2);
    }
    let hits = a[1].chars().enumerate().filter(|(_, c)| c.to_string() == a[2]).map(|(i, _)| i as i64);
    let r = match a[0].as_str() {
        "first" => hits.min().unwrap_or(-1),
        "last" => hits.max().unwrap_or(-1),
        _ => {
            eprintln!("usage: find_tool.py [-h] {{first,last}} ...");
            exit(2);
        }
    };
    println!("{}", r);
}
