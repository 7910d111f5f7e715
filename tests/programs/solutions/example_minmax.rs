// Hand-written translation of minmax_tool.py (std only).
use std::env;
use std::process::exit;

fn usage() -> ! {
    eprintln!("usage: minmax_tool.py [-h] {{min,max,clamp}} ...");
    exit(2);
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    let nums: Vec<i64> = a.iter().skip(1).map(|s| s.parse().unwrap_or_else(|_| usage())).collect();
    match (a.first().map(String::as_str), nums.len()) {
        (Some("min"), 5) => println!("{}", nums.iter().min().unwrap()),
        (Some("max"), 5) => println!("{}", nums.iter().max().unwrap()),
        (Some("clamp"), 3) => {
            let mut r = nums[0];
            if r < nums[1] { r = nums[1]; }
            if r > nums[2] { r = nums[2]; }
            println!("{}", r);
        }
        _ => usage(),
    }
}
