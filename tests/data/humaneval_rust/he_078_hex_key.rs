pub fn hex_key(num: &str) -> i64 {
    num.chars().filter(|c| "2357BD".contains(*c)).count() as i64
}
