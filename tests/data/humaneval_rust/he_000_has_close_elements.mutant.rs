pub fn has_close_elements(numbers: Vec<f64>, threshold: f64) -> bool {
    // mutant: only compares neighbours
    numbers.windows(2).any(|w| (w[0] - w[1]).abs() < threshold)
}
