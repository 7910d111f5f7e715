pub fn find_closest_elements(numbers: Vec<f64>) -> (f64, f64) {
    let mut best: Option<(f64, (f64, f64))> = None;
    for (i, &a) in numbers.iter().enumerate() {
        for (j, &b) in numbers.iter().enumerate() {
            if i == j {
                continue;
            }
            let d = (a - b).abs();
            if best.map_or(true, |(bd, _)| d < bd) {
                best = Some((d, if a <= b { (a, b) } else { (b, a) }));
            }
        }
    }
    best.expect("at least two numbers").1
}
