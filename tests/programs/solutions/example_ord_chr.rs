// Hand-written translation of ord_chr_tool.py (std only).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: ord_chr_tool.py [-h] {{ord,chr,code}} ...");
    exit(2);
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    match (a.first().map(String::as_str), a.len()) {
        (Some("ord"), 2) => match a[1].chars().next() {
            Some(c) => println!("{}", c as u32),
            None => { eprintln!("IndexError: string index out of range"); exit(1) }
        },
        (Some("chr"), 2) => {
            let n: u32 = a[1].parse().unwrap_or_else(|_| usage());
            match char::from_u32(n) {
                Some(c) => println!("{}", c),
                None => { eprintln!("ValueError: chr() arg not in range(0x110000)"); exit(1) }
            }
        }
        (Some("code"), 2) => {
            let codes: Vec<String> = a[1].chars().map(|c| (c as u32).to_string()).collect();
            println!("{}", codes.join(" "));
        }
        _ => usage(),
    }
}
