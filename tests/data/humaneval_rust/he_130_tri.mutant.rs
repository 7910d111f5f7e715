pub fn tri(n: i64) -> Vec<f64> {
    // mutant: (i + 1) / 2 instead of (i + 3) / 2 in the odd case
    if n == 0 {
        return vec![1.0];
    }
    let mut t = vec![1.0, 3.0];
    for i in 2..=n as usize {
        if i % 2 == 0 {
            t.push(i as f64 / 2.0 + 1.0);
        } else {
            let v = t[i - 1] + t[i - 2] + (i as f64 + 1.0) / 2.0;
            t.push(v);
        }
    }
    t
}
