pub fn intersection(interval1: (i64, i64), interval2: (i64, i64)) -> String {
    let l = interval1.0.max(interval2.0);
    let r = interval1.1.min(interval2.1);
    let len = r - l;
    let prime = len >= 2 && (2..len).all(|d| len % d != 0);
    if prime { "YES".to_string() } else { "NO".to_string() }
}
