pub fn median(l: Vec<i64>) -> f64 {
    // mutant: integer division for even lengths
    let mut v = l;
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        ((v[n / 2 - 1] + v[n / 2]) / 2) as f64
    }
}
