pub fn sum_squares(lst: Vec<f64>) -> i64 {
    // mutant: rounds to nearest instead of ceiling
    lst.iter().map(|x| { let c = x.round() as i64; c * c }).sum()
}
