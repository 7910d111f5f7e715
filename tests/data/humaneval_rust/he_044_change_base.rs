pub fn change_base(x: i64, base: i64) -> String {
    let mut x = x;
    let mut digits = Vec::new();
    while x > 0 {
        digits.push(char::from_digit((x % base) as u32, 10).unwrap());
        x /= base;
    }
    digits.iter().rev().collect()
}
