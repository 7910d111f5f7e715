// Hand-written translation of csv_tool.py (std only).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: csv_tool.py [-h] {{count,field}} ...");
    exit(2);
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("count") if args.len() == 2 => println!("{}", args[1].split(',').count()),
        Some("field") if args.len() == 3 => {
            let fields: Vec<&str> = args[1].split(',').collect();
            let i: i64 = args[2].parse().unwrap_or_else(|_| usage());
            let idx = if i < 0 { fields.len() as i64 + i } else { i };
            if idx < 0 || idx as usize >= fields.len() {
                eprintln!("IndexError: list index out of range");
                exit(1);
            }
            println!("{}", fields[idx as usize]);
        }
        _ => usage(),
    }
}
