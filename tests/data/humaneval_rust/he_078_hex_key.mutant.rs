pub fn hex_key(num: &str) -> i64 {
    // mutant: forgets D (13)
    num.chars().filter(|c| "2357B".contains(*c)).count() as i64
}
