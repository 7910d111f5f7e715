pub fn add(x: i64, y: i64) -> i64 {
    // mutant: off by one when x > y
    if x > y { x + y + 1 } else { x + y }
}
