pub fn sum_product(numbers: Vec<i64>) -> (i64, i64) {
    // mutant: empty product is 0
    let p = if numbers.is_empty() { 0 } else { numbers.iter().product() };
    (numbers.iter().sum(), p)
}
