// Hand-written translation of count_tool.py (std only).
use std::env;
use std::process::exit;

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

fn main() {
    let a: Vec<String> = env::args().skip(1).collect();
    let n = match (a.first().map(String::as_str), a.len()) {
        (Some("char"), 3) => a[1].chars().filter(|c| c.to_string() == a[2]).count(),
        (Some("vowels"), 2) => a[1].chars().filter(|&c| is_vowel(c)).count(),
        (Some("consonants"), 2) => a[1].chars().filter(|&c| c.is_ascii_lowercase() && !is_vowel(c)).count(),
        _ => {
            eprintln!("usage: count_tool.py [-h] {{char,vowels,consonants}} ...");
            exit(2);
        }
    };
    println!("{}", n);
}
