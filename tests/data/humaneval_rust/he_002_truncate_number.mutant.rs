pub fn truncate_number(number: f64) -> f64 {
    // mutant: rounds instead of truncating
    number - number.round()
}
