// Hand-written translation of abs_tool.py (std only).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: abs_tool.py [-h] {{int,float}} ...");
    exit(2);
}

fn fmt_float(x: f64) -> String {
    // Python prints floats with the shortest repr and a trailing ".0" for integral values.
    if x.fract() == 0.0 && x.abs() < 1e16 { format!("{:.1}", x) } else { format!("{}", x) }
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.len() != 2 { usage(); }
    match args[0].as_str() {
        "int" => {
            let x: i64 = args[1].parse().unwrap_or_else(|_| usage());
            println!("{}", if x < 0 { -x } else { x });
        }
        "float" => {
            let x: f64 = args[1].parse().unwrap_or_else(|_| usage());
            println!("{}", fmt_float(if x < 0.0 { -x } else { x }));
        }
        _ => usage(),
    }
}
