fn poly(xs: &[i64], x: f64) -> f64 {
    xs.iter().enumerate().map(|(i, &c)| c as f64 * x.powf(i as f64)).sum()
}

pub fn find_zero(xs: Vec<i64>) -> f64 {
    // mutant: stops the bisection early (1e-3)
    let (mut begin, mut end) = (-1.0f64, 1.0f64);
    while poly(&xs, begin) * poly(&xs, end) > 0.0 {
        begin *= 2.0;
        end *= 2.0;
    }
    while end - begin > 1e-3 {
        let center = (begin + end) / 2.0;
        if poly(&xs, center) * poly(&xs, begin) > 0.0 {
            begin = center;
        } else {
            end = center;
        }
    }
    begin
}
