pub fn has_close_elements(numbers: Vec<f64>, threshold: f64) -> bool {
    for (i, a) in numbers.iter().enumerate() {
        for (j, b) in numbers.iter().enumerate() {
            if i != j && (a - b).abs() < threshold {
                return true;
            }
        }
    }
    false
}
